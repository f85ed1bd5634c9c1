from __future__ import annotations

import django_filters
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services, tenancy
from ..choices import AuditAction
from ..idempotency import idempotent
from ..models import ApiToken, AuditEvent, Organization
from .permissions import IsOrganizationAdmin, IsSuperuser
from .serializers import (
    ApiTokenSerializer,
    AuditEventSerializer,
    GitCredentialSerializer,
    GitCredentialStatusSerializer,
    LocalRootsSerializer,
    MemberCreatedSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    OrganizationSerializer,
    QuotaReportSerializer,
    QuotasSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserCreateSerializer,
)

ONE_TIME_PASSWORD_NOTE = (
    "The one-time password is shown only in the first answer; an admin can deactivate this "
    "member and add them again if it was lost."
)


class ObtainTokenView(APIView):
    """Trade a username and password for an API token (`Authorization: Token <token>`)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request) -> str:
        # A wrong password is a 401 (DRF answers 403 when no scheme is announced).
        return "Token"

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        # The Django request: the login throttle (django-axes) marks it when it locks out.
        user = authenticate(
            request._request, username=fields["username"], password=fields["password"]
        )
        if user is None or not user.is_active:
            raise AuthenticationFailed("Unable to log in with the username and password given.")
        # As a form log-in does: last_login is set and the throttle forgets earlier failures.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        # The request was anonymous until now: the token is written in its holder's context.
        with tenancy.acting_as(user, "API log-in of a platform account"):
            row, token = services.issue_api_token(
                user=user, name=fields["name"], days=fields.get("expires_in_days")
            )
        return Response({"token": token, "id": row.pk, "expires_at": row.expires_at})


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your API tokens (an organization admin: the organization's; `?user=<username>`: one
    holder's); DELETE revokes one."""

    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        tokens = selectors.api_tokens_visible_to(self.request.user)
        holder = self.request.query_params.get("user")
        return tokens.filter(user__username=holder) if holder else tokens

    def get_object(self):
        return selectors.get_api_token_for(self.request.user, self.kwargs["pk"])

    def perform_destroy(self, instance):
        services.revoke_api_token(token=instance, actor=self.request.user)


class OrganizationViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = OrganizationSerializer
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Organization.objects.none()
        return selectors.organizations_visible_to(self.request.user)

    def get_object(self):
        return selectors.get_organization_for(self.request.user, self.kwargs["slug"])

    def get_permissions(self):
        if self.action in ("create", "partial_update"):
            return [IsSuperuser()]
        if self.action == "quotas" and self.request.method not in SAFE_METHODS:
            return [IsSuperuser()]
        return super().get_permissions()

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = services.create_organization(
            actor=self.request.user, **serializer.validated_data
        )

    @extend_schema(methods=["GET"], request=None, responses={200: MemberSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=UserCreateSerializer, responses={201: MemberCreatedSerializer}
    )
    @action(detail=True, methods=["get", "post"], permission_classes=[IsOrganizationAdmin])
    @idempotent(secrets={"one_time_password": ONE_TIME_PASSWORD_NOTE})
    def users(self, request, slug=None):
        """The organization's members (GET), or add one (POST)."""
        organization = self.get_object()
        if request.method == "GET":
            members = selectors.members_of(request.user, organization)
            page = self.paginate_queryset(members)
            return self.get_paginated_response(MemberSerializer(page, many=True).data)
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer = _add_member(request, organization, data.validated_data)
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses={200: MemberSerializer})
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"users/(?P<username>[\w.@+-]+)",
        permission_classes=[IsOrganizationAdmin],
    )
    def member(self, request, slug=None, username=None):
        """Change a member's role or deactivate / reactivate them. The organization keeps at
        least one active admin: a change that would remove the last is a 400."""
        organization = self.get_object()
        member = selectors.get_member_for(request.user, organization, username)
        data = MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():  # both changes or neither
            if "role" in data.validated_data:
                member = services.change_member_role(
                    member=member, actor=request.user, role=data.validated_data["role"]
                )
            if data.validated_data.get("is_active") is False:
                member = services.deactivate_member(member=member, actor=request.user)
            elif data.validated_data.get("is_active") is True:
                member = services.reactivate_member(member=member, actor=request.user)
        return Response(MemberSerializer(member).data)

    @extend_schema(request=LocalRootsSerializer, responses={200: OrganizationSerializer})
    def partial_update(self, request, slug=None):
        """Grant the organization its local roots (platform superusers only)."""
        organization = self.get_object()
        data = LocalRootsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = services.set_local_roots(
            organization=organization, actor=request.user, roots=data.validated_data["local_roots"]
        )
        return Response(OrganizationSerializer(organization).data)

    @extend_schema(methods=["GET", "DELETE"], request=None)
    @extend_schema(methods=["PUT"], request=GitCredentialSerializer)
    @extend_schema(responses={200: GitCredentialStatusSerializer})
    @action(
        detail=True,
        methods=["get", "put", "delete"],
        url_path="git-credential",
        permission_classes=[IsOrganizationAdmin],
    )
    def git_credential(self, request, slug=None):
        """Whether the organization has a git credential (GET), set it (PUT) or remove it
        (DELETE). The token is write-only: no answer ever carries it."""
        organization = self.get_object()
        if request.method == "PUT":
            data = GitCredentialSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            organization = services.set_git_credential(
                organization=organization, actor=request.user, **data.validated_data
            )
        elif request.method == "DELETE":
            organization = services.clear_git_credential(
                organization=organization, actor=request.user
            )
        return Response(GitCredentialStatusSerializer(organization).data)

    @extend_schema(methods=["GET"], request=None)
    @extend_schema(methods=["PATCH"], request=QuotasSerializer)
    @extend_schema(responses={200: QuotaReportSerializer})
    @action(detail=True, methods=["get", "patch"])
    def quotas(self, request, slug=None):
        """The organization's limits with its usage (members); change some (superusers)."""
        organization = self.get_object()
        if request.method == "PATCH":
            data = QuotasSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.set_quotas(
                organization=organization, actor=request.user, changes=data.validated_data
            )
        return Response(QuotaReportSerializer(selectors.quota_report_of(organization)).data)


def _add_member(request, organization: Organization, fields: dict) -> dict:
    invite = fields.pop("invite")
    if invite:
        user = services.invite_member(
            organization=organization,
            actor=request.user,
            base_url=public_base_url(request),
            **fields,
        )
        return MemberSerializer(user).data
    if "password" in fields:
        user = services.create_user(organization=organization, actor=request.user, **fields)
        return MemberSerializer(user).data
    user, password = services.add_member_with_one_time_password(
        organization=organization, actor=request.user, **fields
    )
    return {**MemberSerializer(user).data, "one_time_password": password}


def public_base_url(request) -> str:
    """Where links in mails point: PUBLIC_URL, else the address the request came to."""
    return django_settings.PUBLIC_URL or request.build_absolute_uri("/")


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    actor = django_filters.CharFilter(field_name="actor_name", help_text="A user name.")
    organization = django_filters.CharFilter(
        method="by_organization", help_text="An organization's slug (superusers)."
    )

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "organization"]

    def by_organization(self, queryset, name, value):
        return queryset  # applied by the selector, which knows who may cross organizations


class AuditEventListView(generics.ListAPIView):
    """The audit trail, newest first: an organization admin's organization's events; all of
    them for a superuser (`?organization=<slug>` narrows)."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsOrganizationAdmin]
    filterset_class = AuditEventFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        return selectors.audit_events_visible_to(
            self.request.user, organization_slug=self.request.query_params.get("organization")
        )
