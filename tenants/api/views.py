from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services, tenancy
from ..idempotency import idempotent
from ..models import ApiToken, Organization
from .permissions import IsOrganizationAdmin, IsSuperuser
from .serializers import (
    ApiTokenSerializer,
    GitCredentialSerializer,
    GitCredentialStatusSerializer,
    LocalRootsSerializer,
    OrganizationSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserCreateSerializer,
    UserSerializer,
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
    """Your API tokens (an organization admin: the organization's); DELETE revokes one."""

    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return selectors.api_tokens_visible_to(self.request.user)

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
        return super().get_permissions()

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = services.create_organization(
            actor=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def users(self, request, slug=None):
        organization = self.get_object()
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.create_user(
            organization=organization, actor=request.user, **data.validated_data
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

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
