"""What a throttled login answers (django-axes calls these; see the settings' AXES_*).

Every login route answers 429 with Retry-After: the API with a JSON detail, the dashboard's
and the console's log-in pages with their own form and the reason above it, so a person
knows why the right password does not work and for how long."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse


def lockout_message() -> str:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return (
        "Too many failed log-ins for this username or from this address: log-in is "
        f"paused. Try again in {minutes} minutes (each failed try meanwhile restarts the wait)."
    )


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    message = lockout_message()
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = _login_page(request, message)
        response.render()
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


def _login_page(request: HttpRequest, message: str) -> TemplateResponse:
    # Unbound (validating it would try the password again, counting another failure), with
    # the reason as its form-wide error: both log-in templates show those above the form.
    username = request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    form._errors = ErrorDict(
        {NON_FIELD_ERRORS: form.error_class([message], error_class="nonfield")}
    )
    if request.path.startswith("/admin/"):
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "app_path": request.get_full_path(),
            "form": form,
            "username": username,
        }
        return TemplateResponse(request, "admin/login.html", context, status=429)
    context = {"form": form, "next": request.POST.get("next", "")}
    return TemplateResponse(request, "registration/login.html", context, status=429)


def client_address(request: HttpRequest) -> str | None:
    """The client's address: the peer's, or behind TRUSTED_PROXY_COUNT proxies the entry of
    X-Forwarded-For that the outermost trusted proxy added (earlier entries are the client's
    own claims and cannot be trusted)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' backend, for log-ins over HTTP. A log-in without a request (a shell, the
    test client's login()) has no address to count and is not a guess over the network: it
    passes to the next backend instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
