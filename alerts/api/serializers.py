from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.api.serializers import StrictSerializer

from ..choices import ChannelKind, Severity
from ..conditions import KIND_CHOICES
from ..models import Alert, Channel, Delivery, Rule, Silence

ORGANIZATION_HELP = (
    "Superusers only: the organization's slug, or null for a platform object. Organization "
    "admins always create for their own organization."
)


class ChannelSerializer(serializers.ModelSerializer):
    """A channel as read: its config without the secret (`has_secret` says one is set)."""

    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    has_secret = serializers.BooleanField(read_only=True)

    class Meta:
        model = Channel
        fields = [
            "id",
            "organization",
            "kind",
            "name",
            "config",
            "has_secret",
            "is_fallback",
            "enabled",
            "disabled_reason",
            "last_notified_at",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields


class ChannelUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    config = serializers.JSONField(
        required=False,
        help_text="slack: {channel, token}; pagerduty: {routing_key}; email: {to: [...]}; "
        "webhook: {url, secret}. Secrets are write-only; leave one out to keep it.",
    )
    enabled = serializers.BooleanField(required=False)
    is_fallback = serializers.BooleanField(required=False)


class ChannelCreateSerializer(ChannelUpdateSerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    name = serializers.CharField(max_length=100)
    config = serializers.JSONField()
    organization = serializers.CharField(
        required=False, allow_null=True, max_length=100, help_text=ORGANIZATION_HELP
    )


class RuleSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    channels = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Rule
        fields = [
            "id",
            "organization",
            "name",
            "kind",
            "params",
            "severity",
            "throttle_minutes",
            "channels",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RuleUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=KIND_CHOICES, required=False)
    params = serializers.JSONField(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    throttle_minutes = serializers.IntegerField(min_value=1, max_value=10080, required=False)
    channels = serializers.ListField(child=serializers.UUIDField(), max_length=20, required=False)
    enabled = serializers.BooleanField(required=False)


class RuleCreateSerializer(RuleUpdateSerializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    organization = serializers.CharField(
        required=False, allow_null=True, max_length=100, help_text=ORGANIZATION_HELP
    )


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="notification.event", read_only=True)
    notification = serializers.UUIDField(source="notification_id", read_only=True)
    channel = serializers.UUIDField(source="channel_id", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "notification",
            "event",
            "channel",
            "is_fallback",
            "status",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    silenced_by = serializers.UUIDField(source="silenced_by_id", read_only=True)
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "organization",
            "rule",
            "rule_name",
            "fingerprint",
            "subject",
            "summary",
            "details",
            "severity",
            "status",
            "started_at",
            "last_seen_at",
            "resolved_at",
            "notified_status",
            "last_firing_notice_at",
            "silenced_by",
            "deliveries",
        ]
        read_only_fields = fields

    @extend_schema_field(DeliverySerializer(many=True))
    def get_deliveries(self, alert: Alert) -> list[dict]:
        rows = [d for n in alert.notifications.all() for d in n.deliveries.all()]
        return DeliverySerializer(sorted(rows, key=lambda d: d.created_at), many=True).data


class SilenceSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = [
            "id",
            "organization",
            "rule",
            "subject",
            "reason",
            "starts_at",
            "ends_at",
            "created_by_name",
            "created_at",
            "active",
        ]
        read_only_fields = fields

    def get_active(self, silence: Silence) -> bool:
        return silence.starts_at <= timezone.now() < silence.ends_at


class SilenceCreateSerializer(StrictSerializer):
    rule = serializers.UUIDField(required=False, allow_null=True)
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=1000)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField()
    organization = serializers.CharField(
        required=False, allow_null=True, max_length=100, help_text=ORGANIZATION_HELP
    )


class TestResultSerializer(serializers.Serializer):
    delivery = serializers.UUIDField()
    status = serializers.CharField()
    error = serializers.CharField(allow_blank=True)
