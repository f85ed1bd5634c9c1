from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions.api.serializers import SessionSerializer
from sessions.api.views import IDEMPOTENCY_KEY
from tenants.api.permissions import CanControlOrReadOnly, CanControlSessions
from tenants.idempotency import idempotent

from .. import launch, selectors, services
from ..choices import TemplateScope
from ..models import TemplateVersion
from .serializers import (
    LaunchedSessionSerializer,
    LaunchSerializer,
    TemplateCreateSerializer,
    TemplateSerializer,
    TemplateUpdateSerializer,
    TemplateVersionSerializer,
)

LIST_PARAMETERS = [
    OpenApiParameter("scope", str, enum=TemplateScope.values, description="Only this scope."),
    OpenApiParameter(
        "archived", bool, description="true: only archived templates; false (default): none."
    ),
]


class TemplateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Session templates: who sees and edits which is templates/permissions.py's rule, which
    the services apply (a template the user cannot see is a 404, one they cannot edit a 403)."""

    serializer_class = TemplateSerializer
    permission_classes = [CanControlOrReadOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        archived = self.request.query_params.get("archived", "").lower()
        templates = selectors.templates_visible_to(
            self.request.user, archived=archived in ("true", "1")
        )
        scope = self.request.query_params.get("scope")
        if scope in TemplateScope.values:
            templates = templates.filter(scope=scope)
        return templates

    def get_object(self):
        return selectors.get_template_for(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=LIST_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=TemplateCreateSerializer,
        responses={201: TemplateSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = TemplateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.create_template(actor=request.user, **data.validated_data)
        return Response(self._shown(template), status=status.HTTP_201_CREATED)

    @extend_schema(request=TemplateUpdateSerializer, responses={200: TemplateSerializer})
    def partial_update(self, request, *args, **kwargs):
        template = self.get_object()
        changes = TemplateUpdateSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        template = services.update_template(
            template=template, actor=request.user, changes=changes.validated_data
        )
        return Response(self._shown(template))

    @extend_schema(
        responses={204: None, 200: TemplateSerializer},
        description="Deletes the template (204), or archives it (200, the template) while "
        "sessions refer to one of its versions.",
    )
    def destroy(self, request, *args, **kwargs):
        template = self.get_object()
        if services.delete_template(template=template, actor=request.user):
            return Response(status=status.HTTP_204_NO_CONTENT)
        template.refresh_from_db()
        return Response(self._shown(template))

    @extend_schema(responses={200: TemplateVersionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        template = self.get_object()
        versions = selectors.versions_of(template).annotate(
            launch_count=selectors.launches_counted_for(request.user)
        )
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(TemplateVersionSerializer(page, many=True).data)

    def _shown(self, template) -> dict:
        return TemplateSerializer(template, context=self.get_serializer_context()).data

    def paginate_queryset(self, queryset):
        # The list shows each template's latest config: fetch those versions in one query.
        if self.action == "list":
            queryset = queryset.prefetch_related(
                Prefetch("versions", queryset=TemplateVersion.objects.order_by("-number"))
            )
        page = super().paginate_queryset(queryset)
        if self.action == "list" and page is not None:
            for template in page:
                template.latest = next(
                    (v for v in template.versions.all() if v.number == template.latest_version),
                    None,
                )
        return page


class LaunchView(APIView):
    """POST /api/sessions/from-template: a session from a template's latest version."""

    permission_classes = [CanControlSessions]

    @extend_schema(
        request=LaunchSerializer,
        responses={201: LaunchedSessionSerializer},
        parameters=[IDEMPOTENCY_KEY],
        operation_id="sessions_from_template",
    )
    @idempotent(secrets={"hook_token": "A template launches a managed session: no hook token."})
    def post(self, request):
        if request.user.organization_id is None:
            return Response(
                {
                    "detail": "Platform superusers belong to no organization; "
                    "log in as a member of one to start sessions."
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        data = LaunchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = selectors.get_template_for(request.user, data.validated_data["template"])
        version = selectors.latest_version(template)
        fields = launch.session_request(
            version,
            source={key: data.validated_data[key] for key in launch.SOURCE_FIELDS},
            variables=data.validated_data["variables"],
            overrides=data.validated_data["overrides"],
        )
        # The same serializer as POST /api/sessions/: the same 400s.
        session_data = SessionSerializer(data=fields)
        session_data.is_valid(raise_exception=True)
        try:
            session = services.launch_session(
                version=version,
                actor=request.user,
                fields=session_data.validated_data,
                variables=data.validated_data["variables"],
            )
        except services.TemplateStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        answer = LaunchedSessionSerializer(session).data
        answer["hook_token"] = ""
        answer["template"] = {
            "id": str(template.pk),
            "slug": template.slug,
            "version": version.number,
        }
        return Response(answer, status=status.HTTP_201_CREATED)
