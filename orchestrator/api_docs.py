"""The API docs pages: drf-spectacular's Swagger UI and ReDoc, served from our static files
(drf-spectacular-sidecar, see SPECTACULAR_SETTINGS) and kept from reaching other hosts."""

from __future__ import annotations

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# ReDoc's sidebar always shows Redocly's logo from their CDN: a request to a third party on
# every visit, and a broken image offline. The policy keeps the browser from making it (and
# any other image, font or fetch outside this server); the viewers' own scripts and inline
# styles are untouched.
OWN_HOST_ONLY = "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"


class OwnHostOnly:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = OWN_HOST_ONLY
        return response


class SwaggerDocsView(OwnHostOnly, SpectacularSwaggerView):
    # GET only: its HTML renderer has no template for an OPTIONS answer (a 500).
    http_method_names = ["get", "head"]


class RedocDocsView(OwnHostOnly, SpectacularRedocView):
    http_method_names = ["get", "head"]
    # Ours: the package's page loads web fonts from Google.
    template_name = "api_docs/redoc.html"
