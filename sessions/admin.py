from __future__ import annotations

from django.contrib import admin, messages

from . import services
from .models import CommandLog, Session, SessionMessage


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
    fields = ["seq", "tool", "input", "result", "is_error", "duration_ms", "created_at"]
    readonly_fields = fields


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "status",
        "mode",
        "project_type",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "mode", "project_type", "organization"]
    search_fields = ["name", "github_repo", "local_path", "id", "created_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "created_by"]
    readonly_fields = [
        "id",
        "status",
        "status_reason",
        "project_path",
        "agent_session_id",
        "last_seq",
        "created_at",
        "updated_at",
        "started_at",
        "ended_at",
    ]
    inlines = [SessionMessageInline, CommandLogInline]
    actions = ["stop_sessions"]

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
