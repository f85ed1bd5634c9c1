from __future__ import annotations

from rest_framework import serializers

from sessions.api.serializers import SessionCreatedSerializer
from tenants.api.serializers import StrictSerializer

from .. import permissions
from ..choices import TemplateScope
from ..models import SessionTemplate, TemplateVersion

CONFIG_HELP = (
    "The session request the template makes: initial_prompt (with {variables}), variables "
    "([{name, default, required, description}]), project_type, github_repo, git_ref, "
    "local_path, metadata (model, allowedTools, permissionMode, maxTurns, maxDuration in "
    "seconds or like '2 hours', autoClose)."
)


class TemplateVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    sessions = serializers.IntegerField(
        source="launch_count", read_only=True, help_text="Sessions started from this version."
    )

    class Meta:
        model = TemplateVersion
        fields = ["number", "name", "description", "config", "created_by", "created_at", "sessions"]


class TemplateSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    creator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version = serializers.IntegerField(source="latest_version", read_only=True)
    archived = serializers.BooleanField(source="is_archived", read_only=True)
    config = serializers.SerializerMethodField(help_text=CONFIG_HELP)
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = SessionTemplate
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "scope",
            "organization",
            "creator",
            "version",
            "config",
            "archived",
            "archived_at",
            "can_edit",
            "created_at",
            "updated_at",
        ]

    def get_config(self, template) -> dict:
        latest = getattr(template, "latest", None)
        if latest is None:
            latest = template.versions.get(number=template.latest_version)
        return latest.config

    def get_can_edit(self, template) -> bool:
        request = self.context.get("request")
        return bool(request and permissions.may_edit(request.user, template))


class TemplateCreateSerializer(StrictSerializer):
    scope = serializers.ChoiceField(choices=TemplateScope.choices)
    slug = serializers.CharField(max_length=60, required=False, default="")
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=2000, required=False, default="", allow_blank=True
    )
    config = serializers.DictField(help_text=CONFIG_HELP)


class TemplateUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    config = serializers.DictField(
        required=False,
        help_text="Merged over the current config (JSON merge patch: null removes a key).",
    )
    archived = serializers.BooleanField(required=False)


class LaunchSerializer(StrictSerializer):
    template = serializers.CharField(max_length=100, help_text="The template's id or slug.")
    github_repo = serializers.CharField(max_length=500, required=False, default="")
    local_path = serializers.CharField(max_length=1000, required=False, default="")
    git_ref = serializers.CharField(max_length=255, required=False, default="")
    variables = serializers.DictField(required=False, default=dict)
    overrides = serializers.DictField(
        required=False,
        default=dict,
        help_text="Session fields deep-merged over the template's (name, project_type, "
        "github_repo, git_ref, local_path, initial_prompt, metadata), then validated as any "
        "new session is.",
    )

    def validate(self, data: dict) -> dict:
        if data["github_repo"] and data["local_path"]:
            raise serializers.ValidationError(
                {"local_path": ["Give github_repo or local_path, not both."]}
            )
        return data


class LaunchedSessionSerializer(SessionCreatedSerializer):
    template = serializers.DictField(
        read_only=True, help_text="The template (id, slug) and version the session came from."
    )

    class Meta(SessionCreatedSerializer.Meta):
        fields = [*SessionCreatedSerializer.Meta.fields, "template"]
