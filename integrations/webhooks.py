"""The webhook endpoints: POST /api/integrations/github/<id>/webhook and
POST /api/integrations/gitlab/<id>/webhook.

Read the raw body, learn the integration's organization from its id alone (a SECURITY DEFINER
lookup, integrations/tenancy.py), enter that organization's context, check the signature in
constant time, dedupe by the provider's delivery id, let the provider module's handler read
the event, record the delivery and answer: the session's work goes to the background after
commit. An unknown integration gets exactly the answer of a bad signature (a secret is still
compared), so the endpoint tells nothing about which ids exist."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tenants import encryption, json_rules
from tenants.tenancy import tenant_context

from . import github, gitlab, services
from .choices import Outcome, Provider, TriggerKind
from .events import Ignored, Trigger
from .models import Integration
from .tenancy import integration_organization

logger = logging.getLogger(__name__)

PROVIDERS = {Provider.GITHUB: github, Provider.GITLAB: gitlab}
# Compared against when the integration does not exist, so that case costs the same.
_NO_SECRET = "no integration has this secret; it is only compared against"


def _answer(status: int, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _refused() -> JsonResponse:
    return _answer(401, "The signature does not verify for this integration; check its secret.")


def receive(request, provider: str, integration_id):
    module = PROVIDERS[provider]
    limit = settings.INTEGRATION_WEBHOOK_MAX_BYTES
    try:
        too_big = int(request.META.get("CONTENT_LENGTH") or 0) > limit
        body = b"" if too_big else request.body
    except (ValueError, RequestDataTooBig):
        too_big = True
    if too_big:
        return _answer(413, f"The body is over {limit} bytes.")
    organization_id = integration_organization(integration_id)
    with tenant_context(organization_id):
        integration = (
            Integration.objects.filter(pk=integration_id, provider=provider).first()
            if organization_id
            else None
        )
        if integration is None:
            module.verify(_NO_SECRET, request.META, body)
            return _refused()
        try:
            secret = services.webhook_secret_of(integration)
        except encryption.SecretUnreadable:  # refuse like a wrong secret, and log why
            logger.exception("integration %s: webhook secret unreadable", integration.pk)
            secret = _NO_SECRET
        # Header values go into the log as text PostgreSQL can store (no NUL, no surrogates).
        event = json_rules.printable(module.event_of(request.META))[:100]
        key = json_rules.printable(module.delivery_key(request.META))[:100]
        if not module.verify(secret, request.META, body):
            services.record_refused(integration=integration, event=event, delivery_key=key)
            return _refused()
        return _verified(module, integration, event, key, body)


def _verified(module, integration, event, key, body) -> JsonResponse:
    if event == getattr(module, "PING", None):
        return _record(integration, key, event, "", Ignored("ping"), Outcome.PING, 200, "pong")
    handler = module.HANDLERS.get(event)
    if handler is None:
        found = Ignored(f"Unsupported event {event!r}; supported: {', '.join(module.HANDLERS)}.")
        return _record(integration, key, event, "", found, Outcome.UNSUPPORTED, 202, found.reason)
    try:
        payload = json_rules.loads(body)
    except json_rules.HostileValue as exc:
        return _answer(400, f"body: {exc}")
    except ValueError:
        return _answer(400, "body: not JSON (set the webhook's content type to application/json).")
    if not isinstance(payload, dict):
        return _answer(400, "body: a JSON object is expected.")
    named = module.repository_of(payload)
    if named and named.lower() != integration.repository.lower():
        found = Ignored(
            f"The event is for {named}; this integration is for {integration.repository}."
        )
    else:
        found = handler(integration, payload)
    if isinstance(found, Trigger) and not found.number:
        found = Ignored("The event names no pull or merge request.")
    elif (
        isinstance(found, Trigger)
        and found.kind != TriggerKind.MENTION
        and not integration.template_for(found.kind)
    ):
        found = Ignored(f"The {found.kind} trigger is off (no template set for it).")
    action = json_rules.printable(str(_action_of(payload)))
    if isinstance(found, Ignored):
        return _record(integration, key, event, action, found, Outcome.IGNORED, 202, found.reason)
    return _record(integration, key, event, action, found, "", 202, "Queued.")


def _action_of(payload: dict) -> str:
    attributes = payload.get("object_attributes")
    if isinstance(attributes, dict):
        return str(attributes.get("action") or attributes.get("status") or "")[:100]
    return str(payload.get("action") or "")[:100]


def _record(integration, key, event, action, found, outcome, status, detail) -> JsonResponse:
    try:
        delivery = services.receive_delivery(
            integration=integration,
            delivery_key=key,
            event=event,
            action=action,
            found=found,
            outcome=outcome,
        )
    except services.DeliveryReplayed:
        return _answer(200, f"Delivery {key} was already handled.", replay=True)
    except DatabaseError:
        logger.exception("integration %s: delivery not recorded", integration.pk)
        return _answer(503, "The delivery could not be recorded; the provider will retry.")
    if delivery.outcome == Outcome.IGNORED and isinstance(found, Trigger):
        detail = delivery.detail  # the integration is disabled
    return _answer(status, detail, delivery=str(delivery.pk), outcome=delivery.outcome)


@csrf_exempt
@require_POST
def github_webhook(request, integration_id):
    return receive(request, Provider.GITHUB, integration_id)


@csrf_exempt
@require_POST
def gitlab_webhook(request, integration_id):
    return receive(request, Provider.GITLAB, integration_id)
