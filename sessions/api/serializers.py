from __future__ import annotations

from rest_framework import serializers

from tenants.api.serializers import StrictModelSerializer, StrictSerializer

from ..models import CommandLog, Session, SessionMessage, session_budget

WRITABLE_ON_CREATE = {
    "name",
    "mode",
    "project_type",
    "github_repo",
    "git_ref",
    "local_path",
    "initial_prompt",
    "metadata",
    "budget_limit",
}

BUDGET_FIELD = {
    "max_digits": 14,
    "decimal_places": 6,
    "min_value": 0,
    "max_value": 1_000_000,
    "allow_null": True,
    "required": False,
    "help_text": "The session's budget in USD (null: none of its own).",
}


class SessionSerializer(StrictModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    metadata = serializers.DictField(required=False, default=dict)
    model_backend = serializers.CharField(
        read_only=True,
        help_text="'scripted demo model' when the session runs against the offline demo model.",
    )
    budget_limit = serializers.DecimalField(**BUDGET_FIELD)
    claude_cost_usd = serializers.DecimalField(
        source="total_cost_usd",
        max_digits=12,
        decimal_places=6,
        read_only=True,
        help_text="Claude Code's own figure for the session (its running total).",
    )
    budget_used_pct = serializers.SerializerMethodField(
        help_text="Our cost as a percentage of the session's budget; null without one."
    )

    def get_budget_used_pct(self, session) -> float | None:
        limit = session_budget(session)
        if limit is None:
            return None
        if limit == 0:
            return 100.0
        return round(float(session.cost_usd / limit * 100), 2)

    class Meta:
        model = Session
        fields = [
            "id",
            "organization",
            "name",
            "mode",
            "project_type",
            "github_repo",
            "git_ref",
            "local_path",
            "project_path",
            "initial_prompt",
            "status",
            "status_reason",
            "metadata",
            "agent_session_id",
            "scripted_model",
            "unsandboxed",
            "model_backend",
            "num_turns",
            "input_tokens",
            "output_tokens",
            "total_cost_usd",
            "cost_usd",
            "claude_cost_usd",
            "budget_limit",
            "budget_used_pct",
            "budget_exceeded_at",
            "tool_call_count",
            "last_activity_at",
            "created_by",
            "created_at",
            "updated_at",
            "started_at",
            "ended_at",
            "last_seq",
        ]
        # A client chooses only what a session is to work on; the rest is the runner's.
        read_only_fields = [f for f in fields if f not in WRITABLE_ON_CREATE]
        extra_kwargs = {"initial_prompt": {"max_length": 100_000}}


class SessionUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    metadata = serializers.DictField(required=False)
    budget_limit = serializers.DecimalField(**BUDGET_FIELD)


class StopSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=1000, required=False, default="")


class SessionMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionMessage
        fields = ["seq", "direction", "content", "created_at"]


class CommandLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = CommandLog
        fields = [
            "seq",
            "tool",
            "input",
            "result",
            "is_error",
            "duration_ms",
            "tool_use_id",
            "result_bytes",
            "input_bytes",
            "cost_usd",
            "created_at",
        ]


class SessionCreatedSerializer(SessionSerializer):
    hook_token = serializers.CharField(
        read_only=True,
        help_text="An attached session's hook token, shown this once (stored hashed); empty "
        "for a managed session. Rotate it through hook-config to get a new one.",
    )
    hook_token_note = serializers.CharField(
        read_only=True,
        required=False,
        help_text="Instead of hook_token in an idempotent replay: where to get it again.",
    )

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "hook_token", "hook_token_note"]


class FollowUpSerializer(StrictSerializer):
    content = serializers.CharField(max_length=100_000)


class HookConfigSerializer(serializers.Serializer):
    session = serializers.UUIDField()
    managed = serializers.BooleanField()
    note = serializers.CharField(help_text="Why there is no token or no block, and what to do.")
    token = serializers.CharField(
        required=False, help_text="Filled only in the answer of rotate: shown once."
    )
    url = serializers.URLField(required=False)
    http_settings = serializers.DictField(required=False)
    command_settings = serializers.DictField(required=False)
    telemetry_env = serializers.DictField(
        required=False,
        help_text="Environment for Claude Code's OpenTelemetry export to this server (tokens "
        "and cost of an attached session).",
    )


class FileChangeSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Relative to the workspace.")
    status = serializers.ChoiceField(choices=["added", "modified", "deleted", "type_changed"])
    binary = serializers.BooleanField(help_text="Binary (or too large to diff): no diff text.")
    symlink = serializers.BooleanField(help_text="A link: its diff is its target, never read.")
    old_mode = serializers.CharField()
    new_mode = serializers.CharField()
    additions = serializers.IntegerField(allow_null=True)
    deletions = serializers.IntegerField(allow_null=True)
    old_size = serializers.IntegerField(allow_null=True, help_text="Bytes at the start.")
    new_size = serializers.IntegerField(allow_null=True, help_text="Bytes now.")
    diff = serializers.CharField(allow_blank=True, help_text="Unified diff (git format).")
    diff_truncated = serializers.BooleanField(help_text="The diff was cut at a size cap.")


class WorkspaceChangesSerializer(serializers.Serializer):
    session = serializers.UUIDField()
    files = FileChangeSerializer(many=True)
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Changed files by status, all of them (also those beyond max_files).",
    )
    additions = serializers.IntegerField(help_text="Lines added, over all text files.")
    deletions = serializers.IntegerField()
    files_truncated = serializers.BooleanField(help_text="More files changed than are listed.")
    diff_truncated = serializers.BooleanField(
        help_text="The total diff cap cut diffs short or left some out."
    )
    limits = serializers.DictField(child=serializers.IntegerField())
    archive_url = serializers.CharField(help_text="The workspace as a tar.gz.")
