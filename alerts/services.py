"""Every write of alerting: configuration (channels, rules, silences), the engine's state
(alerts firing and resolving, notifications made, deliveries claimed and finished) and the
test message. One function per use case, each one transaction; configuration changes write an
audit event in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tenants import encryption
from tenants.context import current_scope
from tenants.models import Organization, User
from tenants.services import record_audit

from .choices import (
    AlertAuditAction,
    AlertStatus,
    DeliveryStatus,
    NotificationEvent,
    Severity,
)
from .conditions import Finding, validate_params
from .models import Alert, Channel, Delivery, Notification, NotificationAlert, Rule, Silence
from .transports import headline
from .validators import split_config

logger = logging.getLogger(__name__)

# How long a worker holds a delivery it is sending: far above a transport's timeout, so a
# live worker keeps it; a crashed worker's delivery is taken over once this lapses (and then
# sent again: at-least-once, which the receivers' dedupe keys absorb).
CLAIM_LEASE = timedelta(minutes=5)
MAX_BACKOFF_MINUTES = 60
NAME_MAX = 100
MAX_SILENCE = timedelta(days=366)


# --- who may change what -------------------------------------------------------------------


def may_manage(user: User, organization_id) -> bool:
    """Organization admins manage their organization's alerting; superusers (operators)
    manage every organization's and the platform's (organization None)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (
        organization_id is not None
        and user.is_org_admin
        and (str(user.organization_id) == str(organization_id))
    )


def _require_manager(actor: User, organization_id) -> None:
    if not may_manage(actor, organization_id):
        raise PermissionDenied(
            "Only this organization's admins (and operators, for platform alerting) may do this."
        )


def _audit(action: str, actor: User | None, target, details: dict | None = None) -> None:
    record_audit(
        action=action,
        actor=actor,
        organization=target.organization if target.organization_id else None,
        target=target,
        details=details,
    )


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_MAX:
        raise ValidationError({"name": f"name: required, up to {NAME_MAX} characters."})
    return value.strip()


# --- channels ------------------------------------------------------------------------------


@transaction.atomic
def create_channel(
    *,
    actor: User,
    organization: Organization | None,
    kind: str,
    name: str,
    config: dict,
    is_fallback: bool = False,
    enabled: bool = True,
) -> Channel:
    _require_manager(actor, organization.pk if organization else None)
    public, secret = split_config(kind, config, has_secret=False)
    channel = Channel(
        organization=organization,
        kind=kind,
        name=_name(name),
        config=public,
        secret_encrypted=encryption.encrypt(secret) if secret else "",
        enabled=bool(enabled),
    )
    channel.save()
    if is_fallback:
        _make_fallback(channel)
    _audit(AlertAuditAction.CHANNEL_CREATED, actor, channel, {"kind": kind, "name": channel.name})
    return channel


@transaction.atomic
def update_channel(*, channel: Channel, actor: User, **changes) -> Channel:
    """Change name, config (a secret left out is kept), enabled, is_fallback. Enabling a
    channel again clears the reason it was disabled."""
    _require_manager(actor, channel.organization_id)
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    unknown = set(changes) - {"name", "config", "enabled", "is_fallback"}
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed."})
    if "name" in changes:
        channel.name = _name(changes["name"])
    if "config" in changes:
        public, secret = split_config(
            channel.kind, changes["config"], has_secret=channel.has_secret
        )
        channel.config = public
        if secret:
            channel.secret_encrypted = encryption.encrypt(secret)
    if "enabled" in changes:
        channel.enabled = bool(changes["enabled"])
        if channel.enabled:
            channel.disabled_reason = ""
    channel.save()
    if "is_fallback" in changes:
        if changes["is_fallback"]:
            _make_fallback(channel)
        else:
            Channel.objects.filter(pk=channel.pk).update(is_fallback=False)
    # Never the secret, only which fields changed.
    _audit(AlertAuditAction.CHANNEL_CHANGED, actor, channel, {"changed": sorted(changes)})
    return channel


def _make_fallback(channel: Channel) -> None:
    """One fallback per organization (and one for the platform)."""
    Channel.objects.filter(organization_id=channel.organization_id, is_fallback=True).exclude(
        pk=channel.pk
    ).update(is_fallback=False)
    Channel.objects.filter(pk=channel.pk).update(is_fallback=True)
    channel.is_fallback = True


@transaction.atomic
def delete_channel(*, channel: Channel, actor: User) -> None:
    _require_manager(actor, channel.organization_id)
    _audit(AlertAuditAction.CHANNEL_DELETED, actor, channel, {"name": channel.name})
    channel.delete()


@transaction.atomic
def disable_channel(*, channel_id, reason: str) -> None:
    """A permanent transport error: the channel stops receiving and says why. Its pending
    deliveries fail at once, so their notifications go to the fallback."""
    updated = Channel.objects.filter(pk=channel_id, enabled=True).update(
        enabled=False, disabled_reason=reason[:1000], updated_at=timezone.now()
    )
    if not updated:
        return
    channel = Channel.objects.get(pk=channel_id)
    logger.warning("alert channel %s disabled: %s", channel_id, reason)
    _audit(AlertAuditAction.CHANNEL_DISABLED, None, channel, {"reason": reason[:500]})


# --- rules ---------------------------------------------------------------------------------


def _rule_channels(organization_id, channel_ids: object) -> list[Channel]:
    if not isinstance(channel_ids, list) or len(channel_ids) > 20:
        raise ValidationError({"channels": "channels: a list of up to 20 channel ids."})
    channels = []
    for index, channel_id in enumerate(channel_ids):
        try:
            channel = Channel.objects.get(pk=channel_id, organization_id=organization_id)
        except (Channel.DoesNotExist, ValueError, ValidationError):
            raise ValidationError(
                {"channels": f"channels[{index}]: no such channel of this rule's organization."}
            ) from None
        channels.append(channel)
    return list(dict.fromkeys(channels))


def _rule_fields(rule: Rule, changes: dict) -> list[Channel] | None:
    """Apply `changes` to `rule` in memory, checked; the new channel list, if it changes."""
    if "name" in changes:
        rule.name = _name(changes["name"])
    if "kind" in changes or "params" in changes:
        rule.kind = changes.get("kind", rule.kind)
        params = changes.get("params", rule.params)
        rule.params = validate_params(rule.kind, params, platform=rule.organization_id is None)
    if "severity" in changes:
        if changes["severity"] not in Severity.values:
            raise ValidationError({"severity": f"One of: {', '.join(Severity.values)}."})
        rule.severity = changes["severity"]
    if "throttle_minutes" in changes:
        value = changes["throttle_minutes"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10080:
            raise ValidationError({"throttle_minutes": "A whole number from 1 to 10080 (a week)."})
        rule.throttle_minutes = value
    if "enabled" in changes:
        rule.enabled = bool(changes["enabled"])
    if "channels" in changes:
        return _rule_channels(rule.organization_id, changes["channels"])
    return None


RULE_FIELDS = {"name", "kind", "params", "severity", "throttle_minutes", "enabled", "channels"}


@transaction.atomic
def create_rule(*, actor: User, organization: Organization | None, **fields) -> Rule:
    _require_manager(actor, organization.pk if organization else None)
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "Unknown field."})
    rule = Rule(organization=organization, created_by=actor if actor.pk else None)
    fields.setdefault("params", {})
    if "kind" not in fields:
        raise ValidationError({"kind": "kind: required."})
    channels = _rule_fields(rule, {"name": fields.get("name"), **fields})
    rule.save()
    _set_channels(rule, channels or [])
    _audit(AlertAuditAction.RULE_CREATED, actor, rule, {"kind": rule.kind, "params": rule.params})
    return rule


@transaction.atomic
def update_rule(*, rule: Rule, actor: User, **changes) -> Rule:
    _require_manager(actor, rule.organization_id)
    unknown = set(changes) - RULE_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "Unknown field."})
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    channels = _rule_fields(rule, changes)
    rule.save()
    if channels is not None:
        _set_channels(rule, channels)
    details = {k: v for k, v in changes.items() if k != "channels"}
    if channels is not None:
        details["channels"] = [str(c.pk) for c in channels]
    _audit(AlertAuditAction.RULE_CHANGED, actor, rule, details)
    return rule


def _set_channels(rule: Rule, channels: list[Channel]) -> None:
    rule.channels.set(channels, through_defaults={"organization_id": rule.organization_id})


@transaction.atomic
def delete_rule(*, rule: Rule, actor: User) -> None:
    _require_manager(actor, rule.organization_id)
    _audit(AlertAuditAction.RULE_DELETED, actor, rule, {"name": rule.name, "kind": rule.kind})
    rule.delete()


# --- silences ------------------------------------------------------------------------------


@transaction.atomic
def create_silence(
    *,
    actor: User,
    organization: Organization | None,
    ends_at: datetime,
    reason: str,
    rule: Rule | None = None,
    subject: str = "",
    starts_at: datetime | None = None,
) -> Silence:
    _require_manager(actor, organization.pk if organization else None)
    now = timezone.now()
    starts_at = starts_at or now
    if rule is not None and rule.organization_id != (organization.pk if organization else None):
        raise ValidationError({"rule": "rule: no such rule of this organization."})
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 1000:
        raise ValidationError({"reason": "reason: say why, in up to 1000 characters."})
    if not isinstance(subject, str) or len(subject) > 300:
        raise ValidationError({"subject": "subject: up to 300 characters."})
    if ends_at <= max(now, starts_at) or ends_at - starts_at > MAX_SILENCE:
        raise ValidationError(
            {"ends_at": "ends_at: after now and after starts_at, and within a year."}
        )
    silence = Silence.objects.create(
        organization=organization,
        rule=rule,
        subject=subject.strip(),
        reason=reason.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor if actor.pk else None,
        created_by_name=actor.get_username(),
    )
    _audit(
        AlertAuditAction.SILENCE_CREATED,
        actor,
        silence,
        {
            "rule": str(rule.pk) if rule else None,
            "subject": silence.subject,
            "ends_at": ends_at.isoformat(),
            "reason": silence.reason[:200],
        },
    )
    return silence


@transaction.atomic
def expire_silence(*, silence: Silence, actor: User) -> Silence:
    _require_manager(actor, silence.organization_id)
    now = timezone.now()
    Silence.objects.filter(pk=silence.pk, ends_at__gt=now).update(ends_at=now)
    silence.refresh_from_db()
    _audit(AlertAuditAction.SILENCE_EXPIRED, actor, silence)
    return silence


def active_silences(organization_id, now: datetime) -> list[Silence]:
    return list(
        Silence.objects.filter(
            organization_id=organization_id, starts_at__lte=now, ends_at__gt=now
        ).order_by("ends_at")
    )


# --- the engine's state: alerts ------------------------------------------------------------


def fingerprint(rule_id, subject: str) -> str:
    return hashlib.sha256(f"{rule_id}\n{subject}".encode()).hexdigest()


@transaction.atomic
def apply_findings(*, rule: Rule, findings: list[Finding], now: datetime, complete: bool) -> None:
    """Fire (or keep firing) an alert per finding; with `complete` (the condition's whole
    answer), resolve the rule's firing alerts whose subject is no longer found. The rule's row
    is locked, so two workers evaluating it apply one after the other."""
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    alerts = {a.fingerprint: a for a in rule.alerts.all()}
    found = set()
    for finding in findings:
        key = fingerprint(rule.pk, finding.subject)
        found.add(key)
        _fire(rule, alerts.get(key), key, finding, now)
    if complete:
        for key, alert in alerts.items():
            if alert.status == AlertStatus.FIRING and key not in found:
                alert.status, alert.resolved_at = AlertStatus.RESOLVED, now
                alert.save(update_fields=["status", "resolved_at"])


def _fire(rule: Rule, alert: Alert | None, key: str, finding: Finding, now: datetime) -> None:
    if alert is None:
        alert = Alert(rule=rule, organization_id=rule.organization_id, fingerprint=key)
        alert.started_at = now
    elif alert.status == AlertStatus.RESOLVED:
        # A new episode of the same problem: announced again (subject to the throttle).
        alert.started_at, alert.resolved_at = now, None
    alert.status, alert.last_seen_at = AlertStatus.FIRING, now
    alert.subject, alert.summary = finding.subject[:300], finding.summary[:500]
    alert.details, alert.severity = finding.details, rule.severity
    alert.save()


# --- the engine's state: notifications -----------------------------------------------------


def _due(alert: Alert, rule: Rule, now: datetime) -> str:
    """What `alert` is due to tell now: 'new', 'repeat', 'resolved' or ''."""
    throttle = timedelta(minutes=rule.throttle_minutes)
    heard = alert.last_firing_notice_at
    if alert.status == AlertStatus.RESOLVED:
        return "resolved" if alert.notified_status == AlertStatus.FIRING else ""
    if alert.notified_status != AlertStatus.FIRING:
        return "new" if heard is None or now >= heard + throttle else ""
    return "repeat" if now >= heard + throttle else ""


@transaction.atomic
def notify_due(*, rule: Rule, now: datetime) -> Notification | None:
    """Make the one notification that a rule's alerts are due now, if any: new alerts once the
    oldest of them has waited ALERT_GROUP_WAIT_SECONDS (those firing meanwhile join it),
    repeats once `throttle_minutes` passed since the alert was last announced, and resolutions
    of alerts a human heard fire. Silenced alerts wait for their silence to end. Under the
    rule's row lock, and the alerts' notice state changes in the same transaction, so two
    workers never announce the same thing twice."""
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    silences = active_silences(rule.organization_id, now)
    candidates = rule.alerts.filter(
        Q(status=AlertStatus.FIRING) | Q(notified_status=AlertStatus.FIRING)
    )
    due: dict[str, list[Alert]] = {"new": [], "repeat": [], "resolved": []}
    for alert in candidates:
        silence = next((s for s in silences if s.matches(alert)), None)
        if alert.silenced_by_id != (silence.pk if silence else None):
            alert.silenced_by = silence
            alert.save(update_fields=["silenced_by"])
        what = "" if silence else _due(alert, rule, now)
        if what:
            due[what].append(alert)
    wait = timedelta(seconds=settings.ALERT_GROUP_WAIT_SECONDS)
    if due["new"] and min(a.started_at for a in due["new"]) > now - wait:
        due["new"] = []  # the group is still gathering
    firing, resolved = due["new"] + due["repeat"], due["resolved"]
    if not firing and not resolved:
        return None
    for alert in firing:
        alert.notified_status, alert.last_firing_notice_at = AlertStatus.FIRING, now
        alert.save(update_fields=["notified_status", "last_firing_notice_at"])
    for alert in resolved:
        alert.notified_status = AlertStatus.RESOLVED
        alert.save(update_fields=["notified_status"])
    return _make_notification(rule, firing, resolved, now)


def dashboard_link() -> str:
    return f"{settings.PUBLIC_URL}/org/alerts/" if settings.PUBLIC_URL else ""


def alert_payload(alert: Alert) -> dict:
    return {
        "id": str(alert.pk),
        "fingerprint": alert.fingerprint,
        "subject": alert.subject,
        "summary": alert.summary,
        "status": alert.status,
        "started_at": alert.started_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "details": alert.details,
    }


def _make_notification(rule: Rule, firing: list, resolved: list, now: datetime) -> Notification:
    event = NotificationEvent.FIRING if firing else NotificationEvent.RESOLVED
    payload = {
        "event": event,
        "rule": rule.name,
        "rule_id": str(rule.pk),
        "kind": rule.kind,
        "severity": rule.severity,
        "organization": rule.organization.slug if rule.organization_id else None,
        "firing": [alert_payload(a) for a in firing],
        "resolved": [alert_payload(a) for a in resolved],
        "link": dashboard_link(),
    }
    notification = Notification.objects.create(
        organization_id=rule.organization_id,
        rule=rule,
        event=event,
        title=headline(payload),
        payload=payload,
    )
    NotificationAlert.objects.bulk_create(
        NotificationAlert(notification=notification, alert=a, organization_id=rule.organization_id)
        for a in firing + resolved
    )
    channels = [c for c in rule.channels.all() if c.enabled]
    for channel in channels:
        _queue(notification, channel, now)
    if not channels:
        route_to_fallback(notification=notification, now=now)
    return notification


def _queue(notification: Notification, channel: Channel, now: datetime, fallback=False):
    return Delivery.objects.create(
        organization_id=notification.organization_id,
        notification=notification,
        channel=channel,
        is_fallback=fallback,
        next_attempt_at=now,
    )


# --- the engine's state: deliveries --------------------------------------------------------


def claim_delivery(*, delivery_id, now: datetime) -> bool:
    """Take a due delivery for sending. A conditional update: of two workers that try at
    once, exactly one changes the row (PostgreSQL re-checks the condition on the row the first
    one committed), and only it sends."""
    claimed = Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
    ).update(claimed_until=now + CLAIM_LEASE, attempts=F("attempts") + 1, updated_at=now)
    return claimed == 1


@transaction.atomic
def delivery_sent(*, delivery: Delivery, now: datetime) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=now, claimed_until=None, last_error="", updated_at=now
    )
    Channel.objects.filter(pk=delivery.channel_id).update(last_notified_at=now, last_error="")


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(MAX_BACKOFF_MINUTES, 2 ** max(0, attempts - 1)))


@transaction.atomic
def delivery_failed(*, delivery: Delivery, error: str, permanent: bool, now: datetime) -> None:
    """Retry later with backoff, or (a permanent error, the attempts spent, or a test) fail
    for good: a permanent error disables the channel, and a notification none of whose
    deliveries got through goes to the fallback channel."""
    test = delivery.notification.event == NotificationEvent.TEST
    final = permanent or test or delivery.attempts >= settings.ALERT_DELIVERY_MAX_ATTEMPTS
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
        next_attempt_at=now if final else now + backoff(delivery.attempts),
        claimed_until=None,
        last_error=error[:2000],
        updated_at=now,
    )
    Channel.objects.filter(pk=delivery.channel_id).update(last_error=error[:2000])
    if test or not final:
        return
    if permanent:
        disable_channel(channel_id=delivery.channel_id, reason=error)
        # The channel's other waiting deliveries will not get through either.
        # (Those another worker is sending right now are left to it: it will find the channel
        # disabled or get its own answer.)
        for other in Delivery.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            channel_id=delivery.channel_id,
            status=DeliveryStatus.PENDING,
        ).exclude(pk=delivery.pk):
            fail_undeliverable(delivery=other, reason=f"channel disabled: {error}", now=now)
    route_to_fallback(notification=delivery.notification, now=now)


@transaction.atomic
def fail_undeliverable(*, delivery: Delivery, reason: str, now: datetime) -> None:
    """A delivery whose channel is disabled: failed at once, its notification to the fallback."""
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, claimed_until=None, last_error=reason[:2000], updated_at=now
    )
    route_to_fallback(notification=delivery.notification, now=now)


def _fallback_channel(notification: Notification, tried: set) -> Channel | None:
    """The organization's fallback channel, else the platform's (seen only under the bypass:
    row-level security shows platform rows nowhere else)."""
    usable = Channel.objects.filter(is_fallback=True, enabled=True).exclude(pk__in=tried)
    if notification.organization_id is not None:
        own = usable.filter(organization_id=notification.organization_id).first()
        if own is not None:
            return own
    return usable.filter(organization__isnull=True).first()


@transaction.atomic
def route_to_fallback(*, notification: Notification, now: datetime) -> Delivery | None:
    """Give the fallback channel a notification none of whose deliveries got through, once.
    In an organization's context without a fallback of its own, the platform's is out of
    sight: the periodic job (under the bypass) routes it instead."""
    notification = Notification.objects.select_for_update().get(pk=notification.pk)
    deliveries = list(notification.deliveries.all())
    if notification.fallback_done or notification.event == NotificationEvent.TEST:
        return None
    if any(d.status != DeliveryStatus.FAILED for d in deliveries):
        return None  # one got through, or one may still
    channel = _fallback_channel(notification, {d.channel_id for d in deliveries})
    if channel is None and not current_scope().bypass:
        return None  # leave it for the periodic job, which sees the platform's fallback
    Notification.objects.filter(pk=notification.pk).update(fallback_done=True)
    if channel is None:
        logger.error("notification %s reached no channel and no fallback exists", notification.pk)
        return None
    return _queue(notification, channel, now, fallback=True)


def notifications_awaiting_fallback():
    """Notifications none of whose deliveries got through and which no fallback took yet."""
    return (
        Notification.objects.filter(fallback_done=False)
        .exclude(event=NotificationEvent.TEST)
        .exclude(deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENT])
    )


# --- the test message ----------------------------------------------------------------------


@transaction.atomic
def queue_test(*, channel: Channel, actor: User) -> Delivery:
    """A test notification for `channel`, queued (the caller sends it after commit)."""
    _require_manager(actor, channel.organization_id)
    payload = {
        "event": NotificationEvent.TEST,
        "rule": "test",
        "severity": Severity.INFO,
        "organization": channel.organization.slug if channel.organization_id else None,
        "channel": channel.name,
        "firing": [],
        "resolved": [],
        "link": dashboard_link(),
    }
    notification = Notification.objects.create(
        organization_id=channel.organization_id,
        event=NotificationEvent.TEST,
        title=headline(payload),
        payload=payload,
        fallback_done=True,
    )
    _audit(AlertAuditAction.CHANNEL_TESTED, actor, channel)
    return _queue(notification, channel, timezone.now())
