from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from billing.views import otlp_logs, otlp_metrics
from orchestrator.api_docs import RedocDocsView, SwaggerDocsView
from sessions.api.views import SessionArchiveView, SessionChangesView, SessionViewSet
from sessions.hooks.views import HookView, ToolCompleteView
from sessions.live.stream import SessionEventsView, session_stream
from templates.api.views import LaunchView, TemplateViewSet
from tenants.api.views import (
    ApiTokenViewSet,
    AuditEventListView,
    ObtainTokenView,
    OrganizationViewSet,
)

router = DefaultRouter()
# No `.json` format suffixes: JSON is the only format, and the suffixed routes reached action
# methods that take no `format` argument (a 500). Unknown paths are 404s.
router.include_format_suffixes = False
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("sessions", SessionViewSet, basename="session")
router.register("auth/tokens", ApiTokenViewSet, basename="api-token-record")
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/audit/", AuditEventListView.as_view(), name="api-audit"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI and ReDoc from our own static files (orchestrator/api_docs.py).
    path("api/docs/", SwaggerDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", RedocDocsView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/hooks/", HookView.as_view(), name="api-hooks"),
    path("api/hooks/tool-complete", ToolCompleteView.as_view(), name="api-hooks-tool-complete"),
    # Live transports, before the router: same prefix as the session routes.
    path("api/sessions/<uuid:session_id>/stream", session_stream, name="session-stream"),
    path(
        "api/sessions/<uuid:session_id>/events/",
        SessionEventsView.as_view(),
        name="session-events",
    ),
    path("api/sessions/from-template", LaunchView.as_view(), name="session-from-template"),
    # Files changed (sessions/workspaces/changes.py): before the router, same prefix.
    path(
        "api/sessions/<uuid:session_id>/changes/",
        SessionChangesView.as_view(),
        name="session-changes",
    ),
    path(
        "api/sessions/<uuid:session_id>/archive/",
        SessionArchiveView.as_view(),
        name="session-archive",
    ),
    # Alerting (alerts/api): its own routes under /api/alerts/, before the project's router.
    path("api/", include("alerts.api.urls")),
    # Integrations (integrations/api): the API and the GitHub and GitLab webhooks.
    path("api/", include("integrations.api.urls")),
    # Billing (billing/api): rates, prices, budgets and the cost report under /api/billing/;
    # the OTLP/HTTP receiver for attached sessions' OpenTelemetry export.
    path("api/", include("billing.api.urls")),
    path("api/otlp/v1/logs", otlp_logs, name="otlp-logs"),
    path("api/otlp/v1/metrics", otlp_metrics, name="otlp-metrics"),
    path("api/", include(router.urls)),
    # The web dashboard (templates: orchestrator/templates/registration/ for log in).
    path(
        "login/",
        auth_views.LoginView.as_view(next_page="/", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("org/", include("tenants.web.urls")),
    # Organization management (members, settings, audit trail).
    path("org/", include("tenants.web.manage_urls")),
    path("templates/", include("templates.web.urls")),
    path("org/alerts/", include("alerts.web.urls")),
    path("org/integrations/", include("integrations.web.urls")),
    path("org/costs/", include("billing.web.urls")),
    path("", include("sessions.web.urls")),
]
# The dashboard's CSS and JS under DEBUG (daphne serves no static files); production serves
# the collected files (collectstatic) from the proxy. Empty when DEBUG is off.
urlpatterns += staticfiles_urlpatterns()

admin.site.site_header = "claude-orchestrator operations"
admin.site.site_title = "claude-orchestrator"
