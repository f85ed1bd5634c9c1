"""Choices of the alerts app: severities, channel kinds, states of alerts and deliveries."""

from __future__ import annotations

from django.db import models


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack"
    PAGERDUTY = "pagerduty", "PagerDuty"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class NotificationEvent(models.TextChoices):
    """What a notification tells: a group fired (or is still firing: a repeat), resolved, or
    it is a channel's test message."""

    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"
    TEST = "test", "Test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class AlertAuditAction:
    """Audit actions of alerting (tenants.services.record_audit). Kept here rather than in
    tenants.choices.AuditAction so the core needs no migration for a feature; the merge of the
    feature waves may fold them in."""

    CHANNEL_CREATED = "alerts.channel_created"
    CHANNEL_CHANGED = "alerts.channel_changed"
    CHANNEL_DELETED = "alerts.channel_deleted"
    CHANNEL_DISABLED = "alerts.channel_disabled"
    CHANNEL_TESTED = "alerts.channel_tested"
    RULE_CREATED = "alerts.rule_created"
    RULE_CHANGED = "alerts.rule_changed"
    RULE_DELETED = "alerts.rule_deleted"
    SILENCE_CREATED = "alerts.silence_created"
    SILENCE_EXPIRED = "alerts.silence_expired"
