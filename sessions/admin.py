from __future__ import annotations

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from . import services
from .models import CleanupRecord, CommandLog, HookEvent, Session, SessionMessage
from .validators import validate_agent_metadata
from .workspaces import folders


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["seq"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class SessionMessageInline(ReadOnlyInline):
    model = SessionMessage
    fields = ["seq", "direction", "content", "created_at"]
    readonly_fields = fields


class CommandLogInline(ReadOnlyInline):
    model = CommandLog
    fields = [
        "seq",
        "tool",
        "input",
        "result",
        "result_bytes",
        "is_error",
        "duration_ms",
        "created_at",
    ]
    readonly_fields = fields


class SessionAdminForm(forms.ModelForm):
    """Metadata passes the same checks here as through the API (else the save would fail)."""

    actor = None  # set per request by SessionAdmin.get_form

    def clean_metadata(self):
        try:
            return validate_agent_metadata(
                self.cleaned_data["metadata"],
                actor=self.actor,
                organization=self.instance.organization,
                current=self.instance.metadata,
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("metadata", exc.messages)) from None


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    form = SessionAdminForm
    list_display = [
        "name",
        "organization",
        "status",
        "model_backend",
        "jail",
        "mode",
        "project_type",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "mode", "unsandboxed", "project_type", "organization"]
    search_fields = ["name", "github_repo", "local_path", "id", "created_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "created_by"]
    # Operators rename and annotate; everything else is the runner's and ingestion's to write.
    editable_fields = ("name", "metadata")
    exclude = ["hook_token_hash"]

    def get_readonly_fields(self, request, obj=None):
        hidden = set(self.exclude)
        names = [f.name for f in Session._meta.fields if f.name not in hidden]
        return [
            "model_backend",
            "workspace_size",
            *(n for n in names if n not in self.editable_fields),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user
        return form

    def has_add_permission(self, request) -> bool:
        # Sessions start through the API or the dashboard, which prepare and run them.
        return False

    def save_model(self, request, obj, form, change) -> None:
        services.update_session(
            session=obj, actor=request.user, **{f: getattr(obj, f) for f in self.editable_fields}
        )

    inlines = [SessionMessageInline, CommandLogInline]
    actions = ["stop_sessions"]

    @admin.display(description="workspace on disk")
    def workspace_size(self, session: Session) -> str:
        if not session.project_path:
            return "none"
        return filesizeformat(folders.disk_usage(Path(session.project_path)))

    @admin.display(description="jail")
    def jail(self, session: Session) -> str:
        if session.mode != "managed":
            return "-"
        return "unsandboxed" if session.unsandboxed else "jailed"

    @admin.display(description="model")
    def model_backend(self, session: Session) -> str:
        return session.model_backend

    @admin.action(description="Stop the selected sessions")
    def stop_sessions(self, request, queryset):
        stopped = 0
        for session in queryset:
            try:
                services.stop_session(session=session, actor=request.user)
                stopped += 1
            except services.SessionStateError as exc:
                self.message_user(request, f"{session}: {exc}", messages.WARNING)
        self.message_user(request, f"Stopped {stopped} session(s).", messages.SUCCESS)


@admin.register(SessionMessage)
class SessionMessageAdmin(admin.ModelAdmin):
    list_display = ["session", "seq", "direction", "created_at"]
    list_filter = ["direction"]
    search_fields = ["content", "session__name"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"


@admin.register(CommandLog)
class CommandLogAdmin(admin.ModelAdmin):
    list_display = ["session", "seq", "tool", "is_error", "duration_ms", "created_at"]
    list_filter = ["is_error", "tool"]
    search_fields = ["tool", "result", "session__name", "tool_use_id"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"


@admin.register(HookEvent)
class HookEventAdmin(admin.ModelAdmin):
    """The raw record of every ingested event: read-only, for audits and debugging."""

    list_display = ["session", "hook_event_name", "seq", "event_key", "created_at"]
    list_filter = ["hook_event_name"]
    search_fields = ["event_key", "session__name", "session__id"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CleanupRecord)
class CleanupRecordAdmin(admin.ModelAdmin):
    """Who removed or ended what, when and why: compensation and the reconciler."""

    list_display = ["created_at", "action", "actor", "session_id", "path", "reason"]
    list_filter = ["action", "actor"]
    search_fields = ["session_id", "path", "reason"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
