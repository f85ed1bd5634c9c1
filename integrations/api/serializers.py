from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.api.serializers import StrictSerializer

from .. import services
from ..choices import Provider
from ..models import Delivery, Integration


class TriggersSerializer(StrictSerializer):
    pull_request = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=60,
        help_text="The template (slug) a PR/MR opened, reopened or updated starts; null: off.",
    )
    ci_failure = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=60,
        help_text="The template (slug) a failed CI run starts; null: off.",
    )
    mention = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text="The handle a comment must mention to reach the session (@claude); null: off.",
    )


def webhook_url(request, integration: Integration) -> str:
    path = reverse(f"integration-{integration.provider}-webhook", args=[integration.pk])
    return request.build_absolute_uri(path) if request is not None else path


class IntegrationSerializer(serializers.ModelSerializer):
    """An integration as read: never its secret or token (`has_api_token` says one is set)."""

    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    triggers = serializers.SerializerMethodField()
    webhook_url = serializers.SerializerMethodField()
    has_api_token = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "organization",
            "provider",
            "repository",
            "api_url",
            "clone_url",
            "triggers",
            "enabled",
            "webhook_url",
            "has_api_token",
            "last_delivery_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(TriggersSerializer)
    def get_triggers(self, integration) -> dict:
        return services.triggers_of(integration)

    def get_webhook_url(self, integration) -> str:
        return webhook_url(self.context.get("request"), integration)

    def get_has_api_token(self, integration) -> bool:
        return bool(integration.api_token_encrypted)


class IntegrationCreatedSerializer(IntegrationSerializer):
    webhook_secret = serializers.SerializerMethodField(
        help_text="The webhook secret, answered this once (set it in the provider's webhook)."
    )

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "webhook_secret"]
        read_only_fields = fields

    def get_webhook_secret(self, integration) -> str:
        return getattr(integration, "new_webhook_secret", "")


class IntegrationUpdateSerializer(StrictSerializer):
    repository = serializers.CharField(required=False, max_length=300)
    api_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    clone_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    webhook_secret = serializers.CharField(
        required=False, write_only=True, max_length=200, help_text="Write-only; left out: kept."
    )
    api_token = serializers.CharField(
        required=False, write_only=True, max_length=500, help_text="Write-only; left out: kept."
    )
    triggers = TriggersSerializer(required=False)
    enabled = serializers.BooleanField(required=False)


class IntegrationCreateSerializer(IntegrationUpdateSerializer):
    provider = serializers.ChoiceField(choices=Provider.choices)
    repository = serializers.CharField(max_length=300)
    webhook_secret = serializers.CharField(
        required=False,
        write_only=True,
        max_length=200,
        help_text="Write-only; left out: one is made and answered once.",
    )


class IntegrationDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "delivery_key",
            "event",
            "action",
            "signature_ok",
            "outcome",
            "detail",
            "trigger",
            "session",
            "received_at",
            "handled_at",
        ]
        read_only_fields = fields
