from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..idempotency import idempotent
from ..models import Organization
from .permissions import IsSuperuser
from .serializers import (
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
        user = authenticate(request, **data.validated_data)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Unable to log in with the username and password given.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class OrganizationViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = OrganizationSerializer
    lookup_field = "slug"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Organization.objects.none()
        return selectors.organizations_visible_to(self.request.user)

    def get_object(self):
        return selectors.get_organization_for(self.request.user, self.kwargs["slug"])

    def get_permissions(self):
        if self.action == "create":
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
