"""Alerting: rules, channels, the alerts they raise, silences, and the notifications and
deliveries that tell a human.

Every table carries its organization (null: a platform object, which only operators and the
platform's own jobs see: row-level security shows null rows only under the bypass). All the
timing state of the engine lives here (when an alert was last announced, when a delivery may
be tried again), so restarts and several workers change nothing.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants.json_rules import SafeJSONField
from tenants.models import Organization, TenantQuerySet

from .choices import AlertStatus, ChannelKind, DeliveryStatus, NotificationEvent, Severity


class PlatformAwareQuerySet(TenantQuerySet):
    """`for_user`, where platform rows (no organization) are the superusers' alone."""

    def platform(self):
        return self.filter(organization__isnull=True)


def _organization(related_name: str = "+") -> models.ForeignKey:
    # None: a platform object (operators'); otherwise the organization it belongs to.
    return models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name=related_name
    )


class Channel(models.Model):
    """Where notifications go: one Slack channel, PagerDuty service, mail list or webhook."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = _organization("alert_channels")
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    # What is not secret: Slack's channel, the mail recipients, the webhook's URL.
    config = SafeJSONField(default=dict, blank=True)
    # The Slack token, PagerDuty routing key or webhook signing secret, Fernet-encrypted
    # (tenants/encryption.py); write-only everywhere.
    secret_encrypted = models.TextField(blank=True, editable=False)
    # The organization's (or, without one, the platform's) channel of last resort: it gets
    # what none of an alert's channels could deliver.
    is_fallback = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlatformAwareQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class Rule(models.Model):
    """A condition worth waking someone for, and whom it notifies."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = _organization("alert_rules")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=40, help_text="A condition kind (alerts/conditions.py).")
    params = SafeJSONField(default=dict, blank=True)
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    # The least time between two firing notifications of one alert: the repeat interval while
    # it stays firing, and the wait before a flapping alert that fired again is re-announced.
    throttle_minutes = models.PositiveIntegerField(default=60)
    channels = models.ManyToManyField(
        Channel, through="RuleChannel", related_name="rules", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlatformAwareQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RuleChannel(models.Model):
    """A rule's channel (the many-to-many row, carrying the organization for its policy)."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    organization = _organization()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "channel"], name="alerts_rule_channel_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} -> {self.channel_id}"


class Silence(models.Model):
    """Mutes the alerts of its organization (or the platform's) that match its rule and
    subject (blank: any) from `starts_at` until `ends_at`. Expiring sets `ends_at` to now."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = _organization("alert_silences")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    reason = models.TextField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as written: the account may be renamed or deleted later.
    created_by_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlatformAwareQuerySet.as_manager()

    class Meta:
        ordering = ["-ends_at"]

    def __str__(self) -> str:
        what = self.rule.name if self.rule_id else "every rule"
        return f"Silence of {what}{' / ' + self.subject if self.subject else ''}"

    def matches(self, alert: Alert) -> bool:
        return (
            self.organization_id == alert.organization_id
            and (self.rule_id is None or self.rule_id == alert.rule_id)
            and (not self.subject or self.subject == alert.subject)
        )


class Alert(models.Model):
    """One problem: a rule's condition true for one subject. A condition that stays true
    updates its alert (same fingerprint) instead of raising another."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = _organization("alerts")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="alerts")
    # sha256 of the rule and the subject: PagerDuty's dedup_key, stable across episodes.
    fingerprint = models.CharField(max_length=64)
    subject = models.CharField(max_length=300)
    summary = models.CharField(max_length=500)
    details = SafeJSONField(default=dict, blank=True)
    severity = models.CharField(max_length=20, choices=Severity.choices)
    status = models.CharField(max_length=20, choices=AlertStatus.choices, db_index=True)
    started_at = models.DateTimeField(help_text="When this episode began firing.")
    last_seen_at = models.DateTimeField(help_text="When the condition was last found true.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    # What a human was last told (''/firing/resolved), and when a firing notice last went out.
    notified_status = models.CharField(max_length=20, blank=True)
    last_firing_notice_at = models.DateTimeField(null=True, blank=True)
    silenced_by = models.ForeignKey(
        Silence, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlatformAwareQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "fingerprint"], name="alerts_alert_fingerprint")
        ]
        indexes = [models.Index(fields=["organization", "status"], name="alerts_alert_org_status")]

    def __str__(self) -> str:
        return f"[{self.status}] {self.summary}"


class Notification(models.Model):
    """One message about a group of one rule's alerts (or a channel's test), sent to each of
    the rule's channels as a Delivery. Saved before any transport runs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = _organization()
    rule = models.ForeignKey(
        Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    event = models.CharField(max_length=20, choices=NotificationEvent.choices)
    title = models.CharField(max_length=300)
    # The alerts as they were when the notification was made (what every transport renders).
    payload = SafeJSONField(default=dict, blank=True)
    alerts = models.ManyToManyField(
        Alert, through="NotificationAlert", related_name="notifications", blank=True
    )
    # Set once every delivery failed and the fallback channel was given it (or none existed).
    fallback_done = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = PlatformAwareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class NotificationAlert(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE)
    organization = _organization()

    def __str__(self) -> str:
        return f"{self.notification_id} / {self.alert_id}"


class Delivery(models.Model):
    """A notification on its way to one channel: claimed by one worker at a time with a
    conditional update, retried with backoff, final once sent or failed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = _organization()
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    is_fallback = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A worker's lease while it sends: another may take the delivery over once it lapses.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlatformAwareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="alerts_delivery_due",
                condition=Q(status=DeliveryStatus.PENDING),
            )
        ]

    def __str__(self) -> str:
        return f"{self.notification} -> {self.channel} ({self.status})"
