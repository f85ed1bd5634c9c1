"""The billing API: tool rates and model prices (history: every change is a new row),
budgets, and the cost report. Reads are scoped by the selectors; every write is a service
call, which checks the actor may make it."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.permissions import IsOrganizationAdmin
from tenants.models import Organization, User

from .. import selectors, services
from ..models import ToolRate
from .serializers import (
    BudgetsSerializer,
    ModelPriceCreateSerializer,
    ModelPriceSerializer,
    ReportQuerySerializer,
    ReportRowSerializer,
    ToolRateCreateSerializer,
    ToolRateSerializer,
)

REPORT_COLUMNS = (
    "key",
    "cost_usd",
    "tool_cost_usd",
    "token_cost_usd",
    "tool_calls",
    "input_tokens",
    "output_tokens",
)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _organization_for(user: User, slug: str | None) -> Organization | None:
    """Whose rate a create makes: an admin's own organization; for a superuser the one named
    (or the platform's, with none)."""
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


class ToolRateViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every member reads the rates that apply to their organization; superusers add the
    platform's (and any organization's), organization admins their organization's overrides."""

    serializer_class = ToolRateSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return ToolRate.objects.none()
        return selectors.tool_rates_visible_to(self.request.user)

    @extend_schema(request=ToolRateCreateSerializer, responses={201: ToolRateSerializer})
    def create(self, request):
        data = _valid(ToolRateCreateSerializer, request.data)
        organization = _organization_for(request.user, data.pop("organization", None))
        rate = services.add_tool_rate(actor=request.user, organization=organization, **data)
        return Response(ToolRateSerializer(rate).data, status=status.HTTP_201_CREATED)


class ModelPriceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every member reads model prices; superusers add them."""

    serializer_class = ModelPriceSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.model_prices()

    @extend_schema(request=ModelPriceCreateSerializer, responses={201: ModelPriceSerializer})
    def create(self, request):
        data = _valid(ModelPriceCreateSerializer, request.data)
        price = services.add_model_price(actor=request.user, **data)
        return Response(ModelPriceSerializer(price).data, status=status.HTTP_201_CREATED)


class BudgetsView(APIView):
    """The organization's monthly budget and its members' (organization admins)."""

    permission_classes = [IsOrganizationAdmin]

    def _organization(self, request) -> Organization:
        if request.user.organization is None:
            raise ValidationError(
                {"detail": "Platform superusers belong to no organization; use the admin."}
            )
        return request.user.organization

    @extend_schema(responses={200: BudgetsSerializer})
    def get(self, request):
        organization = self._organization(request)
        return Response(BudgetsSerializer(selectors.budgets_of(organization)).data)

    @extend_schema(request=BudgetsSerializer, responses={200: BudgetsSerializer})
    def put(self, request):
        organization = self._organization(request)
        data = _valid(BudgetsSerializer, request.data)
        members = {u.get_username(): u for u in organization.users.all()}
        users = data.get("users", [])
        unknown = [row["username"] for row in users if row["username"] not in members]
        if unknown:
            raise ValidationError({"users": f"Not members of this organization: {unknown}."})
        with transaction.atomic():  # all of them or none
            if "monthly_limit_usd" in data:
                services.set_budget(
                    actor=request.user,
                    organization=organization,
                    monthly_limit_usd=data["monthly_limit_usd"],
                )
            for row in users:
                services.set_budget(
                    actor=request.user,
                    organization=organization,
                    user=members[row["username"]],
                    monthly_limit_usd=row["monthly_limit_usd"],
                )
        return Response(BudgetsSerializer(selectors.budgets_of(organization)).data)


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        if isinstance(data, list):
            writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(data)
        else:  # an error answer
            out.write(str(data))
        return out.getvalue().encode()


class ReportView(APIView):
    """The organization's costs grouped by day, user, template, tool or model (JSON or CSV:
    `?format=csv`)."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", enum=["day", "user", "template", "tool", "model"]),
            OpenApiParameter("from", type=str, description="First day (YYYY-MM-DD)."),
            OpenApiParameter("to", type=str, description="Last day (YYYY-MM-DD)."),
            OpenApiParameter("format", enum=["json", "csv"]),
        ],
        responses={200: ReportRowSerializer(many=True)},
    )
    def get(self, request):
        if request.user.organization is None:
            raise ValidationError({"detail": "Platform superusers belong to no organization."})
        query = {k: v for k, v in request.query_params.items() if k != "format"}
        if "from" in query:
            query["start"] = query.pop("from")
        try:
            data = _valid(ReportQuerySerializer, query)
        except serializers.ValidationError as exc:
            # Name the query parameter the client sent (`from`, not the serializer's `start`).
            detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
            raise serializers.ValidationError(
                {("from" if key == "start" else key): value for key, value in detail.items()}
            ) from None
        rows = selectors.cost_report(
            organization=request.user.organization,
            group_by=data["group_by"],
            start=data["start"],
            end=data["to"],
        )
        return Response(ReportRowSerializer(rows, many=True).data)
