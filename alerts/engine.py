"""The engine: evaluates rules into alerts, groups due alerts into notifications, and sends
deliveries. Reads and orchestration only; every write goes through alerts.services.

- `tick()`: the periodic job (Celery beat, every minute; "Evaluate alert rules" in the
  admin's Periodic tasks), across every organization under the platform bypass.
- `on_session_failed()` / `on_budget_threshold()`: the event-driven path (the core's and
  billing's signals), in the organization's context, so a failure alerts within seconds.
- `flush()`: notifications due for one organization's rules, then their deliveries.

Timing state lives in the database (alerts' notice times, deliveries' next attempts), so the
outcome is the same with one worker or several, and across restarts.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from tenants.tenancy import platform_bypass, tenant_context

from . import services
from .choices import DeliveryStatus, NotificationEvent
from .conditions import KINDS, BudgetThreshold, SessionFailed
from .models import Delivery, Rule
from .transports import TRANSPORTS, TransportError

logger = logging.getLogger(__name__)
BATCH = 200


def evaluate(rule: Rule, now: datetime) -> None:
    condition = KINDS.get(rule.kind)
    if condition is None:
        logger.error("alert rule %s has an unknown kind %r", rule.pk, rule.kind)
        return
    findings = condition.evaluate(rule, now)
    services.apply_findings(rule=rule, findings=findings, now=now, complete=True)


def enabled_rules(organization_id=None, *, every: bool = False):
    rules = Rule.objects.filter(enabled=True).select_related("organization")
    return rules if every else rules.filter(organization_id=organization_id)


def tick(*, now: datetime | None = None) -> None:
    """Evaluate every enabled rule, make the notifications due, route what no channel took
    to the fallback, and send what is due. One rule's failure never stops the others."""
    now = now or timezone.now()
    with platform_bypass("alerts: evaluate rules and deliver notifications"):
        rules = list(enabled_rules(every=True))
        for rule in rules:
            _guarded(evaluate, rule, now)
        for rule in rules:
            _guarded(lambda r, n: services.notify_due(rule=r, now=n), rule, now)
        for notification in services.notifications_awaiting_fallback()[:BATCH]:
            services.route_to_fallback(notification=notification, now=now)
        send_due(now=now)


def _guarded(step, rule: Rule, now: datetime) -> None:
    try:
        step(rule, now)
    except Exception:
        logger.exception("alert rule %s (%s) failed", rule.pk, rule.kind)


def flush(organization_id, *, now: datetime | None = None) -> None:
    """The notifications due for one organization's rules, then its due deliveries."""
    now = now or timezone.now()
    with tenant_context(organization_id):
        for rule in enabled_rules(organization_id):
            _guarded(lambda r, n: services.notify_due(rule=r, now=n), rule, now)
        send_due(now=now)


def on_session_failed(session, *, now: datetime | None = None) -> bool:
    """Fire the organization's session_failed rules for this session at once; True if any."""
    now = now or timezone.now()
    condition: SessionFailed = KINDS["session_failed"]
    fired = False
    with tenant_context(session.organization_id):
        for rule in enabled_rules(session.organization_id).filter(kind=condition.name):
            services.apply_findings(
                rule=rule, findings=[condition.finding(session)], now=now, complete=False
            )
            fired = True
    return fired


def on_budget_threshold(*, organization_id, now: datetime | None = None, **crossing) -> bool:
    now = now or timezone.now()
    condition: BudgetThreshold = KINDS["budget_threshold"]
    fired = False
    with tenant_context(organization_id):
        for rule in enabled_rules(organization_id).filter(kind=condition.name):
            finding = condition.finding(
                rule, now=now, organization_name=rule.organization.name, **crossing
            )
            if finding is not None:
                services.apply_findings(rule=rule, findings=[finding], now=now, complete=False)
                fired = True
    return fired


# --- sending -------------------------------------------------------------------------------


def send_due(*, now: datetime | None = None) -> int:
    """Send the deliveries due now that this context sees; how many were sent."""
    now = now or timezone.now()
    due = Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:BATCH])
    return sum(send(delivery_id, now=now) for delivery_id in ids)


def send(delivery_id, *, now: datetime | None = None) -> bool:
    """Claim one delivery and send it; True once sent. A delivery another worker claimed is
    left alone."""
    now = now or timezone.now()
    if not services.claim_delivery(delivery_id=delivery_id, now=now):
        return False
    delivery = Delivery.objects.select_related("channel", "notification").get(pk=delivery_id)
    channel, notification = delivery.channel, delivery.notification
    test = notification.event == NotificationEvent.TEST
    if not channel.enabled and not test:
        reason = f"channel disabled: {channel.disabled_reason or 'by its owner'}"
        services.fail_undeliverable(delivery=delivery, reason=reason, now=now)
        return False
    try:
        TRANSPORTS[channel.kind].notify(channel, notification.payload, str(delivery.pk))
    except TransportError as exc:
        logger.warning("delivery %s to %s failed: %s", delivery.pk, channel.pk, exc.message)
        services.delivery_failed(
            delivery=delivery, error=exc.message, permanent=exc.permanent, now=now
        )
        return False
    services.delivery_sent(delivery=delivery, now=now)
    return True
