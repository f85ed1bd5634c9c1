"""/org/integrations/: an organization's GitHub and GitLab integrations, for its admins:
create one (the webhook URL and secret shown once), test it, enable or disable it, read its
delivery log and redeliver. Every change is a service call."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenants.web.manage_access import org_admin_page

from .. import selectors, services
from ..api.serializers import webhook_url
from ..clients import ApiError
from .forms import IntegrationForm

PAGE = "Integrations"
_admin_page = org_admin_page(PAGE)
LOG_ROWS = 20


@require_GET
@_admin_page
def integrations_page(request: HttpRequest) -> HttpResponse:
    return _render(request, IntegrationForm())


def _render(request, form, status: int = 200, created=None) -> HttpResponse:
    rows = []
    for integration in selectors.integrations_visible_to(request.user):
        rows.append(
            {
                "integration": integration,
                "webhook_url": webhook_url(request, integration),
                "triggers": services.triggers_of(integration),
                "deliveries": list(selectors.deliveries_of(integration)[:LOG_ROWS]),
            }
        )
    context = {"rows": rows, "form": form, "created": created}
    if created is not None:
        context["created_url"] = webhook_url(request, created)
    return render(request, "integrations/integrations.html", context, status=status)


@require_POST
@_admin_page
def integration_create(request: HttpRequest) -> HttpResponse:
    form = IntegrationForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)
    try:
        integration = services.create_integration(actor=request.user, **form.service_fields())
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _render(request, form, status=400)
    # The secret is on this page once; it is never shown again.
    return _render(request, IntegrationForm(), status=201, created=integration)


@require_POST
@_admin_page
def integration_toggle(request: HttpRequest, integration_id) -> HttpResponse:
    integration = selectors.get_integration_for(request.user, integration_id)
    services.update_integration(
        integration=integration, actor=request.user, enabled=not integration.enabled
    )
    return redirect("integrations:page")


@require_POST
@_admin_page
def integration_test(request: HttpRequest, integration_id) -> HttpResponse:
    integration = selectors.get_integration_for(request.user, integration_id)
    try:
        messages.success(
            request, services.test_integration(integration=integration, actor=request.user)
        )
    except ApiError as exc:
        messages.error(request, f"Test of {integration} failed: {exc}")
    return redirect("integrations:page")


@require_POST
@_admin_page
def integration_delete(request: HttpRequest, integration_id) -> HttpResponse:
    integration = selectors.get_integration_for(request.user, integration_id)
    services.delete_integration(integration=integration, actor=request.user)
    messages.success(request, f"{integration} removed.")
    return redirect("integrations:page")


@require_POST
@_admin_page
def delivery_redeliver(request: HttpRequest, integration_id, delivery_id) -> HttpResponse:
    delivery = selectors.get_delivery_for(request.user, integration_id, delivery_id)
    try:
        services.redeliver(delivery=delivery, actor=request.user)
        messages.success(request, "Redelivered: see the log.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("integrations:page")
