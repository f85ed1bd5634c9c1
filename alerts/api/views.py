"""The alerting API: channels, rules, silences and the alert history. Organization admins
manage their organization's; superusers every organization's and the platform's. Reads are
scoped by the selectors (another organization's object is a 404); every write is a service
call, which checks the actor may make it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tenants.api.permissions import IsOrganizationAdmin
from tenants.idempotency import idempotent
from tenants.models import Organization

from .. import engine, selectors, services
from ..choices import AlertStatus, Severity
from ..models import Channel, Rule
from .serializers import (
    AlertSerializer,
    ChannelCreateSerializer,
    ChannelSerializer,
    ChannelUpdateSerializer,
    RuleCreateSerializer,
    RuleSerializer,
    RuleUpdateSerializer,
    SilenceCreateSerializer,
    SilenceSerializer,
    TestResultSerializer,
)

UUID = "[0-9a-fA-F-]{32,36}"


def organization_for(user, data: dict) -> Organization | None:
    """Whose object a create makes: an admin's organization; for a superuser the one named by
    `organization` (a slug), or the platform's (null or absent)."""
    slug = data.pop("organization", None)
    if not user.is_superuser:
        if slug not in (None, user.organization.slug):
            raise ValidationError({"organization": "Only superusers choose the organization."})
        return user.organization
    if slug is None:
        return None
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise ValidationError({"organization": "No such organization."})
    return organization


def _valid(serializer_class, request) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class AlertingViewSet(viewsets.GenericViewSet):
    permission_classes = [IsOrganizationAdmin]
    lookup_value_regex = UUID
    selector = None
    getter = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.serializer_class.Meta.model.objects.none()
        return type(self).selector(self.request.user)

    def get_object(self):
        return type(self).getter(self.request.user, self.kwargs["pk"])


class ChannelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, AlertingViewSet
):
    """Notification channels. Secrets (Slack token, PagerDuty routing key, webhook secret)
    are write-only: stored encrypted, never answered."""

    serializer_class = ChannelSerializer
    selector = staticmethod(selectors.channels_visible_to)
    getter = staticmethod(selectors.get_channel_for)
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=ChannelCreateSerializer, responses={201: ChannelSerializer})
    @idempotent
    def create(self, request):
        data = _valid(ChannelCreateSerializer, request)
        organization = organization_for(request.user, data)
        channel = services.create_channel(actor=request.user, organization=organization, **data)
        return Response(ChannelSerializer(channel).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChannelUpdateSerializer, responses={200: ChannelSerializer})
    def partial_update(self, request, pk=None):
        channel = self.get_object()
        data = _valid(ChannelUpdateSerializer, request)
        channel = services.update_channel(channel=channel, actor=request.user, **data)
        return Response(ChannelSerializer(channel).data)

    def perform_destroy(self, instance: Channel) -> None:
        services.delete_channel(channel=instance, actor=self.request.user)

    @extend_schema(request=None, responses={200: TestResultSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a test notification now; the answer says whether the channel took it."""
        channel = self.get_object()
        delivery = services.queue_test(channel=channel, actor=request.user)
        engine.send(delivery.pk)
        delivery.refresh_from_db()
        body = {"delivery": delivery.pk, "status": delivery.status, "error": delivery.last_error}
        return Response(body)


class RuleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, AlertingViewSet
):
    """Alert rules: a kind of condition with its parameters, a severity, a throttle (the
    least minutes between two notices of one alert) and the channels it notifies."""

    serializer_class = RuleSerializer
    selector = staticmethod(selectors.rules_visible_to)
    getter = staticmethod(selectors.get_rule_for)
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=RuleCreateSerializer, responses={201: RuleSerializer})
    @idempotent
    def create(self, request):
        data = _valid(RuleCreateSerializer, request)
        organization = organization_for(request.user, data)
        _channel_ids_as_text(data)
        rule = services.create_rule(actor=request.user, organization=organization, **data)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RuleUpdateSerializer, responses={200: RuleSerializer})
    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = _valid(RuleUpdateSerializer, request)
        _channel_ids_as_text(data)
        rule = services.update_rule(rule=rule, actor=request.user, **data)
        return Response(RuleSerializer(rule).data)

    def perform_destroy(self, instance: Rule) -> None:
        services.delete_rule(rule=instance, actor=self.request.user)


def _channel_ids_as_text(data: dict) -> None:
    if "channels" in data:
        data["channels"] = [str(pk) for pk in data["channels"]]


class SilenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AlertingViewSet):
    """Silences: mute the alerts matching a rule and/or subject (blank: any) of an
    organization until `ends_at`. `POST {id}/expire/` ends one now."""

    serializer_class = SilenceSerializer
    selector = staticmethod(selectors.silences_visible_to)
    getter = staticmethod(selectors.get_silence_for)
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=SilenceCreateSerializer, responses={201: SilenceSerializer})
    @idempotent
    def create(self, request):
        data = _valid(SilenceCreateSerializer, request)
        organization = organization_for(request.user, data)
        rule_id = data.pop("rule", None)
        rule = None
        if rule_id is not None:
            rule = selectors.rules_visible_to(request.user).filter(pk=rule_id).first()
            if rule is None:
                raise ValidationError({"rule": "No such rule."})
        silence = services.create_silence(
            actor=request.user, organization=organization, rule=rule, **data
        )
        return Response(SilenceSerializer(silence).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: SilenceSerializer})
    @action(detail=True, methods=["post"])
    def expire(self, request, pk=None):
        silence = services.expire_silence(silence=self.get_object(), actor=request.user)
        return Response(SilenceSerializer(silence).data)


ALERT_FILTERS = [
    OpenApiParameter("status", str, enum=AlertStatus.values),
    OpenApiParameter("severity", str, enum=Severity.values),
    OpenApiParameter("rule", str, description="A rule's id."),
]


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AlertingViewSet):
    """The alert history: each alert (firing or resolved) with its deliveries."""

    serializer_class = AlertSerializer
    selector = staticmethod(selectors.alerts_visible_to)
    getter = staticmethod(selectors.get_alert_for)
    filter_backends: list = []

    def get_queryset(self):
        alerts = super().get_queryset()
        params = self.request.query_params
        return selectors.filter_alerts(
            alerts,
            status=params.get("status", ""),
            rule=params.get("rule", ""),
            severity=params.get("severity", ""),
        )

    @extend_schema(parameters=ALERT_FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
