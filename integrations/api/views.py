"""The integrations API: organization admins manage their organization's integrations and read
their delivery logs. Reads are scoped by the selectors (another organization's object is a
404); every write is a service call."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tenants.api.permissions import IsOrganizationAdmin
from tenants.idempotency import idempotent

from .. import selectors, services
from ..models import Integration
from .serializers import (
    IntegrationCreatedSerializer,
    IntegrationCreateSerializer,
    IntegrationDeliverySerializer,
    IntegrationSerializer,
    IntegrationUpdateSerializer,
)

UUID = "[0-9a-fA-F-]{32,36}"


def _valid(serializer_class, request) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class IntegrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """GitHub and GitLab integrations. `webhook_secret` and `api_token` are write-only; the
    answer to a create carries the webhook secret once, and every answer the `webhook_url`."""

    serializer_class = IntegrationSerializer
    permission_classes = [IsOrganizationAdmin]
    lookup_value_regex = UUID
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Integration.objects.none()
        return selectors.integrations_visible_to(self.request.user)

    def get_object(self):
        return selectors.get_integration_for(self.request.user, self.kwargs["pk"])

    @extend_schema(
        request=IntegrationCreateSerializer, responses={201: IntegrationCreatedSerializer}
    )
    @idempotent(secrets={"webhook_secret": "The webhook secret is answered once, on create."})
    def create(self, request):
        data = _valid(IntegrationCreateSerializer, request)
        integration = services.create_integration(actor=request.user, **data)
        answer = IntegrationCreatedSerializer(integration, context={"request": request}).data
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(request=IntegrationUpdateSerializer, responses={200: IntegrationSerializer})
    def partial_update(self, request, pk=None):
        integration = self.get_object()
        data = _valid(IntegrationUpdateSerializer, request)
        integration = services.update_integration(
            integration=integration, actor=request.user, **data
        )
        return Response(IntegrationSerializer(integration, context={"request": request}).data)

    def perform_destroy(self, instance: Integration) -> None:
        services.delete_integration(integration=instance, actor=self.request.user)

    @extend_schema(responses={200: IntegrationDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The delivery log, newest first (the last 100)."""
        deliveries = selectors.deliveries_of(self.get_object())[: selectors.DELIVERY_LOG_SIZE]
        return Response(IntegrationDeliverySerializer(deliveries, many=True).data)

    @extend_schema(
        request=None,
        responses={202: IntegrationDeliverySerializer},
        parameters=[OpenApiParameter("delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=rf"deliveries/(?P<delivery_id>{UUID})/redeliver",
    )
    def redeliver(self, request, pk=None, delivery_id=None):
        """Run a delivery's trigger again (a new delivery in the log)."""
        delivery = selectors.get_delivery_for(request.user, pk, delivery_id)
        again = services.redeliver(delivery=delivery, actor=request.user)
        return Response(IntegrationDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
