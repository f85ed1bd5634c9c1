from __future__ import annotations

from rest_framework import serializers

from ..choices import Role
from ..models import QUOTA_MAXIMA, ApiToken, AuditEvent, Organization, User


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
    local_roots = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Folders its local sessions may use.",
    )
    has_git_credential = serializers.BooleanField(
        read_only=True, help_text="Whether a git credential is set; the token is never shown."
    )

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "settings",
            "local_roots",
            "has_git_credential",
            "created_at",
        ]
        read_only_fields = ["id", "local_roots", "has_git_credential", "created_at"]
        # The service checks uniqueness; the model validator would answer first otherwise.
        extra_kwargs = {"slug": {"validators": []}}


class LocalRootsSerializer(StrictSerializer):
    local_roots = serializers.ListField(
        child=serializers.CharField(max_length=1000, trim_whitespace=False),
        max_length=50,
        help_text="Absolute folders inside LOCAL_PROJECT_ROOTS; replaces the current grants.",
    )


class GitCredentialSerializer(StrictSerializer):
    """What an admin sends; the token is write-only and never comes back."""

    token = serializers.CharField(write_only=True, max_length=4096, trim_whitespace=False)
    username = serializers.CharField(
        max_length=100, required=False, default="x-access-token", help_text="Sent with the token."
    )
    host = serializers.CharField(
        max_length=253,
        required=False,
        default="",
        help_text="The git host it is for (one of GIT_ALLOWED_HOSTS); default: GIT_BASE_URL's.",
    )


class GitCredentialStatusSerializer(serializers.Serializer):
    has_git_credential = serializers.BooleanField()
    host = serializers.CharField(source="git_credential_host")
    username = serializers.CharField(source="git_credential_username")


class UserCreateSerializer(StrictSerializer):
    """Three ways to add a member: with a `password` you choose; with `invite: true`, an
    email that lets them set their own; or with neither, a one-time password generated and
    answered this once."""

    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(write_only=True, min_length=8, max_length=128, required=False)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.USER)
    email = serializers.EmailField(required=False, default="")
    invite = serializers.BooleanField(
        required=False, default=False, help_text="Mail the member a link to set a password."
    )

    def validate(self, data: dict) -> dict:
        if data["invite"] and "password" in data:
            raise serializers.ValidationError(
                {"invite": "Give either a password or invite: true, not both."}
            )
        if data["invite"] and not data["email"]:
            raise serializers.ValidationError({"email": "An invitation needs an email address."})
        return data


class MemberSerializer(serializers.ModelSerializer):
    """A member as their organization's admins see them."""

    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    invitation_pending = serializers.SerializerMethodField(
        help_text="Invited and has not set a password yet."
    )

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "organization", "is_active"]
        fields += ["invitation_pending", "date_joined", "last_login"]
        read_only_fields = fields

    def get_invitation_pending(self, user: User) -> bool:
        return not user.has_usable_password()


class MemberCreatedSerializer(MemberSerializer):
    one_time_password = serializers.CharField(
        required=False, help_text="Only when generated: shown this once, never stored."
    )

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "one_time_password"]
        read_only_fields = fields


class MemberUpdateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)

    def validate(self, data: dict) -> dict:
        if not data:
            raise serializers.ValidationError("Give role, is_active or both.")
        return data


class AuditEventSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    actor = serializers.CharField(source="actor_name", help_text="The user name when it acted.")
    target = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "organization", "actor", "action", "target", "address"]
        fields += ["details"]
        read_only_fields = fields

    def get_target(self, event: AuditEvent) -> dict:
        return {"type": event.target_type, "id": event.target_id, "repr": event.target_repr}


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


def _limit(name: str, help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=QUOTA_MAXIMA[name],
        help_text=f"{help_text} null: unlimited.",
    )


class QuotasSerializer(StrictSerializer):
    """A PATCH changes the limits it names and leaves the others."""

    max_active_sessions = _limit("max_active_sessions", "Sessions not yet ended.")
    max_workspaces = _limit("max_workspaces", "Workspace folders on disk.")
    max_storage_gb = _limit("max_storage_gb", "GB (1024³ bytes) under its workspaces.")
    max_sessions_per_day = _limit("max_sessions_per_day", "Sessions created since midnight.")


class QuotaUsageSerializer(serializers.Serializer):
    active_sessions = serializers.IntegerField()
    workspaces = serializers.IntegerField(help_text="As last measured, plus workspaces made since.")
    storage_gb = serializers.FloatField()
    storage_bytes = serializers.IntegerField()
    sessions_today = serializers.IntegerField()
    measured_at = serializers.DateTimeField(
        allow_null=True, help_text="When the disk was last measured (null: not yet)."
    )


class QuotaReportSerializer(QuotasSerializer):
    usage = QuotaUsageSerializer(read_only=True)
