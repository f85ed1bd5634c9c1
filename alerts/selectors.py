"""Reads of alerting: each takes the user it serves. An organization's admins see their
organization's objects; superusers (operators) see every organization's and the platform's.
Another organization's object is a 404, never a 403."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404

from tenants.models import User

from .models import Alert, Channel, Delivery, Rule, Silence


def _visible(model, user: User):
    if not user.is_authenticated or not (user.is_superuser or user.is_org_admin):
        return model.objects.none()
    return model.objects.for_user(user)


def channels_visible_to(user: User):
    return _visible(Channel, user).select_related("organization")


def rules_visible_to(user: User):
    return _visible(Rule, user).select_related("organization").prefetch_related("channels")


def silences_visible_to(user: User):
    return _visible(Silence, user).select_related("organization", "rule")


def deliveries_of_alerts():
    return Prefetch(
        "notifications__deliveries",
        queryset=Delivery.objects.order_by("created_at"),
    )


def alerts_visible_to(user: User):
    """Alerts, newest first, with the notifications that told of them and their deliveries."""
    return (
        _visible(Alert, user)
        .select_related("organization", "rule", "silenced_by")
        .prefetch_related("notifications", deliveries_of_alerts())
    )


def _get(queryset, pk, what: str):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, ValidationError):
        raise Http404(f"No such {what}.") from None


def get_channel_for(user: User, pk) -> Channel:
    return _get(channels_visible_to(user), pk, "channel")


def get_rule_for(user: User, pk) -> Rule:
    return _get(rules_visible_to(user), pk, "rule")


def get_silence_for(user: User, pk) -> Silence:
    return _get(silences_visible_to(user), pk, "silence")


def get_alert_for(user: User, pk) -> Alert:
    return _get(alerts_visible_to(user), pk, "alert")


def filter_alerts(alerts, *, status: str = "", rule: str = "", severity: str = ""):
    """The history's filters; a value that names nothing narrows to nothing (never an error)."""
    if status:
        alerts = alerts.filter(status=status)
    if severity:
        alerts = alerts.filter(severity=severity)
    if rule:
        try:
            alerts = alerts.filter(rule_id=rule)
        except ValidationError:
            return alerts.none()
    return alerts


def channel_names(user: User) -> dict:
    """Channel id -> name, for deliveries (a platform fallback's name is not the tenant's)."""
    return dict(channels_visible_to(user).values_list("pk", "name"))
