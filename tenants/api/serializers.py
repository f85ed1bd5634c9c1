from __future__ import annotations

from rest_framework import serializers

from ..choices import Role
from ..models import ApiToken, Organization, User


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, so a typo is a 400 rather than silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


class OrganizationSerializer(StrictModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "settings", "created_at"]
        read_only_fields = ["id", "created_at"]
        # The service checks uniqueness; the model validator would answer first otherwise.
        extra_kwargs = {"slug": {"validators": []}}


class UserCreateSerializer(StrictSerializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(write_only=True, min_length=8, max_length=128)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.USER)
    email = serializers.EmailField(required=False, default="")


class UserSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "organization"]
        read_only_fields = fields


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, default="")
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Default API_TOKEN_TTL_DAYS (30).",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed: never the token itself (not stored), only its first characters."""

    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "user", "created_at", "expires_at", "last_used_at"]
        fields += ["revoked_at"]
        read_only_fields = fields


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once: only its digest is stored.")
    id = serializers.UUIDField()
    expires_at = serializers.DateTimeField(allow_null=True)
