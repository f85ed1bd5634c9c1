from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.text import Truncator

from . import selectors, services
from .choices import SessionMode
from .models import CleanupRecord, CommandLog, HookEvent, Session, SessionMessage
from .validators import validate_agent_metadata
from .workspaces import folders


def grouped(value: int | float | Decimal | None, decimals: int | None = None) -> str:
    """A number with thousands separators in the active locale (1,234,567)."""
    if value is None:
        return "-"
    return number_format(value, decimal_pos=decimals, force_grouping=True)


def dashboard_link(session: Session, text: str) -> str:
    url = reverse("sessions:detail", args=[session.pk])
    return format_html('<a href="{}" title="View in dashboard">{}</a>', url, text)


class EventRecordAdmin(admin.ModelAdmin):
    """Rows only ingestion writes: their seq is gap-free per session, the counters and costs
    are summed from them and the raw events dedupe retries, so the console only reads them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
    # Short columns that fit 1280 px beside the filters; the rest is on the session's page.
    list_display = [
        "short_name",
        "organization_name",
        "status",
        "runs",
        "tool_calls",
        "tokens",
        "cost",
        "created",
        "dashboard",
    ]
    list_display_links = ["short_name"]
    list_filter = ["status", "mode", "unsandboxed", "project_type", "organization"]
    search_fields = ["name", "github_repo", "local_path", "id", "created_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "created_by"]
    # Operators rename and annotate; everything else is the runner's and ingestion's to write.
    editable_fields = ("name", "metadata")
    # Counters and costs on the change page, grouped: field name -> its display below.
    GROUPED = {
        "num_turns": "turns",
        "input_tokens": "input_tokens_grouped",
        "output_tokens": "output_tokens_grouped",
        "tool_call_count": "tool_call_count_grouped",
        "cost_usd": "cost",
        "total_cost_usd": "claude_cost",
    }
    exclude = ["hook_token_hash"]

    def get_readonly_fields(self, request, obj=None):
        hidden = set(self.exclude)
        names = [f.name for f in Session._meta.fields if f.name not in hidden]
        return [
            "dashboard_page",
            "model_backend",
            "workspace_size",
            *(self.GROUPED.get(n, n) for n in names if n not in self.editable_fields),
        ]

    def changelist_view(self, request, extra_context=None):
        # The app list beside the filters leaves the table half a laptop screen; the
        # breadcrumbs lead back to it.
        return super().changelist_view(
            request, {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        )

    def get_exclude(self, request, obj=None):
        # Shown grouped, read-only, under their display names instead.
        return [*self.exclude, *self.GROUPED]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A session is its event record: stop it instead (its workspace is cleaned up by
        # the services); no service deletes one.
        return False

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
        seen = [] if session.scripted_model else selectors.models_seen(session)
        if session.mode == SessionMode.ATTACHED and not seen:
            return f"{session.model_backend} (no model seen yet)"
        return f"{session.model_backend} ({', '.join(seen)})" if seen else session.model_backend

    @admin.display(description="name", ordering="name")
    def short_name(self, session: Session) -> str:
        return Truncator(session.name).chars(32)

    @admin.display(description="organization", ordering="organization__name")
    def organization_name(self, session: Session) -> str:
        return Truncator(session.organization.name).chars(24)

    @admin.display(description="runs on", ordering="mode")
    def runs(self, session: Session) -> str:
        """How it runs, then what it talks to: one column, two short lines."""
        if session.mode == SessionMode.ATTACHED:
            return format_html("attached<br>{}", session.model_backend)
        return format_html("managed, {}<br>{}", self.jail(session), session.model_backend)

    @admin.display(description="tools", ordering="tool_call_count")
    def tool_calls(self, session: Session) -> str:
        return grouped(session.tool_call_count)

    @admin.display(description="tokens")
    def tokens(self, session: Session) -> str:
        return grouped(session.input_tokens + session.output_tokens)

    @admin.display(description="cost", ordering="cost_usd")
    def cost(self, session: Session) -> str:
        return f"${grouped(session.cost_usd, 4)}"

    @admin.display(description="created", ordering="created_at")
    def created(self, session: Session) -> str:
        return timezone.localtime(session.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="dashboard")
    def dashboard(self, session: Session) -> str:
        return dashboard_link(session, "view")

    @admin.display(description="dashboard")
    def dashboard_page(self, session: Session) -> str:
        return dashboard_link(session, "View in dashboard")

    @admin.display(description="turns")
    def turns(self, session: Session) -> str:
        return grouped(session.num_turns)

    @admin.display(description="tool calls")
    def tool_call_count_grouped(self, session: Session) -> str:
        return grouped(session.tool_call_count)

    @admin.display(description="input tokens")
    def input_tokens_grouped(self, session: Session) -> str:
        return grouped(session.input_tokens)

    @admin.display(description="output tokens")
    def output_tokens_grouped(self, session: Session) -> str:
        return grouped(session.output_tokens)

    @admin.display(description="Claude Code's cost figure (USD)")
    def claude_cost(self, session: Session) -> str:
        return grouped(session.total_cost_usd, 4)

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
class SessionMessageAdmin(EventRecordAdmin):
    list_display = ["session", "seq", "direction", "created_at"]
    list_filter = ["direction"]
    search_fields = ["content", "session__name"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"


@admin.register(CommandLog)
class CommandLogAdmin(EventRecordAdmin):
    list_display = ["session", "seq", "tool", "is_error", "duration", "cost", "created_at"]
    list_filter = ["is_error", "tool"]
    search_fields = ["tool", "result", "session__name", "tool_use_id"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"

    @admin.display(description="duration (ms)", ordering="duration_ms")
    def duration(self, log: CommandLog) -> str:
        return grouped(log.duration_ms)

    @admin.display(description="cost (USD)", ordering="cost_usd")
    def cost(self, log: CommandLog) -> str:
        return grouped(log.cost_usd, 6)


@admin.register(HookEvent)
class HookEventAdmin(EventRecordAdmin):
    """The raw record of every ingested event: read-only, for audits and debugging."""

    list_display = ["session", "hook_event_name", "seq", "event_key", "created_at"]
    list_filter = ["hook_event_name"]
    search_fields = ["event_key", "session__name", "session__id"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"


@admin.register(CleanupRecord)
class CleanupRecordAdmin(EventRecordAdmin):
    """Who removed or ended what, when and why: compensation and the reconciler."""

    list_display = ["created_at", "action", "actor", "session_id", "path", "reason"]
    list_filter = ["action", "actor"]
    search_fields = ["session_id", "path", "reason"]
    date_hierarchy = "created_at"
