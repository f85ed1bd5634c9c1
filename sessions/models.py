from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import models

from tenants.json_rules import SafeJSONField
from tenants.models import Organization, TenantQuerySet

from .choices import Direction, ProjectType, SessionMode, SessionStatus


class Session(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sessions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    mode = models.CharField(max_length=20, choices=SessionMode.choices, default=SessionMode.MANAGED)
    project_type = models.CharField(max_length=20, choices=ProjectType.choices)
    github_repo = models.CharField(max_length=500, blank=True)
    git_ref = models.CharField(max_length=255, blank=True)
    local_path = models.CharField(max_length=1000, blank=True)
    project_path = models.CharField(max_length=1000, blank=True, help_text="The workspace.")
    initial_prompt = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.PENDING, db_index=True
    )
    status_reason = models.TextField(blank=True)
    metadata = SafeJSONField(default=dict, blank=True)
    agent_session_id = models.CharField(max_length=100, blank=True)
    scripted_model = models.BooleanField(
        default=False, help_text="Runs against the scripted demo model, not the real API."
    )
    unsandboxed = models.BooleanField(
        default=False,
        help_text="A turn of this session ran Claude Code outside the jail (AGENT_SANDBOX).",
    )
    # sha256 of the session's hook token: hook posts authenticate with the token itself.
    hook_token_hash = models.CharField(max_length=64, blank=True)
    # Totals from Claude Code's results; cost and per-model usage are cumulative there.
    num_turns = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    # Our own cost (billing's rates and prices), added at ingestion as events arrive, so it
    # moves during a turn; `total_cost_usd` above is Claude Code's figure, kept beside it.
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    # The session's budget in USD (None: none of its own; `metadata.budget` is read too).
    budget_limit = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    budget_exceeded_at = models.DateTimeField(null=True, blank=True)
    # The last assistant message id priced: messages that share an id (one per content block
    # of one model response) repeat the same usage, and they arrive one after another.
    last_priced_message_id = models.CharField(max_length=200, blank=True, editable=False)
    model_usage = SafeJSONField(default=dict, blank=True)
    last_result = SafeJSONField(default=dict, blank=True)
    tool_call_count = models.PositiveIntegerField(default=0)
    # The turn in progress, from its model responses' usage as they arrive: what the page
    # shows while the turn runs. Its result's usage is added to the totals above, and these
    # start again from zero.
    turn_input_tokens = models.PositiveBigIntegerField(default=0, editable=False)
    turn_output_tokens = models.PositiveBigIntegerField(default=0, editable=False)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Written by the runner while a turn is live; the reconciler trusts nothing older.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The turn last queued, and when a worker claimed it: a redelivered task finds its turn
    # already claimed and does not run it twice.
    current_turn = models.UUIDField(null=True, blank=True)
    turn_claimed_at = models.DateTimeField(null=True, blank=True)
    # The last seq handed out; messages and logs share this gap-free counter.
    last_seq = models.PositiveBigIntegerField(default=0)
    # The hook rate limit's window (its start, epoch seconds) and the posts counted in it:
    # kept on the row that ingestion locks anyway, so counting costs no extra round trip.
    hook_window_start = models.PositiveBigIntegerField(default=0, editable=False)
    hook_window_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "status"]),
            # Quotas count an organization's sessions created today.
            models.Index(fields=["organization", "created_at"], name="session_org_created"),
        ]
        constraints = [
            # What the children's (session, organization) keys reference (see HookEvent).
            models.UniqueConstraint(fields=["id", "organization"], name="session_id_org_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def model_backend(self) -> str:
        """What the session's Claude Code talks to, as users see it labelled. An attached
        session is someone's own Claude Code: which model it talks to is theirs to choose."""
        if self.scripted_model:
            return "scripted demo model"
        if self.mode == SessionMode.ATTACHED:
            return "own Claude Code"
        return "Anthropic API"


def session_budget(session: Session) -> Decimal | None:
    """The session's own budget in USD: `budget_limit`, else `metadata.budget` (the seed's
    way), else None. A metadata value that is no positive number is no budget."""
    if session.budget_limit is not None:
        return session.budget_limit
    value = (session.metadata or {}).get("budget")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        budget = Decimal(str(value))
    except InvalidOperation:
        return None
    return budget if budget.is_finite() and budget >= 0 else None


class SessionEvent(models.Model):
    """What messages and command logs share: a place in the session's sequence."""

    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["seq"]


class SessionMessage(SessionEvent):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages")
    # The session's organization, copied on insert: the row-level security policy compares
    # it directly (PostgreSQL: a composite key keeps it equal to the session's).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )
    direction = models.CharField(max_length=20, choices=Direction.choices)
    content = models.TextField()

    class Meta(SessionEvent.Meta):
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="message_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.direction} #{self.seq}"

    def as_event(self) -> dict:
        """The live-event form, as pushed to viewers and returned by the API."""
        return {
            "kind": "message",
            "seq": self.seq,
            "direction": self.direction,
            "content": self.content,
            "created_at": self.created_at.isoformat(),
        }


class CommandLog(SessionEvent):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="logs")
    # The session's organization, copied on insert: the row-level security policy compares
    # it directly (PostgreSQL: a composite key keeps it equal to the session's).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )
    tool = models.CharField(max_length=200)
    input = SafeJSONField(default=dict, blank=True)
    result = models.TextField(blank=True)
    is_error = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    tool_use_id = models.CharField(max_length=200, blank=True)
    # Size of the full result before truncation; result may hold only its beginning.
    result_bytes = models.PositiveIntegerField(default=0)
    # Size of the tool input as posted (JSON); over HOOK_INPUT_MAX_BYTES its strings are cut.
    input_bytes = models.PositiveBigIntegerField(default=0)
    # What the tool call cost at the rate in force when it ran (billing); None: not priced.
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)

    class Meta(SessionEvent.Meta):
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="log_seq_unique")]

    def __str__(self) -> str:
        return f"{self.tool} #{self.seq}"

    def as_event(self) -> dict:
        return {
            "kind": "log",
            "seq": self.seq,
            "tool": self.tool,
            "input": self.input,
            "result": self.result,
            "result_bytes": self.result_bytes,
            "input_bytes": self.input_bytes,
            "is_error": self.is_error,
            "duration_ms": self.duration_ms,
            "tool_use_id": self.tool_use_id,
            "cost_usd": None if self.cost_usd is None else str(self.cost_usd),
            "created_at": self.created_at.isoformat(),
        }


class SessionTurn(models.Model):
    """One turn of a session, once it ended (a managed session's result, an attached one's
    Stop): the separator the command log shows after the turn's last event."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="turns")
    # The session's organization, copied on insert: the row-level security policy compares
    # it directly (PostgreSQL: a composite key keeps it equal to the session's).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )
    number = models.PositiveIntegerField()
    # The turn's events are those after the previous turn's last_seq, up to this one.
    last_seq = models.PositiveBigIntegerField()
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField()
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    # Our cost of the turn (billing's prices): the session's cost_usd then, less before.
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    is_error = models.BooleanField(default=False)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "number"], name="turn_number_unique")
        ]

    def __str__(self) -> str:
        return f"turn {self.number}"

    def as_event(self) -> dict:
        return {
            "kind": "turn",
            "number": self.number,
            "last_seq": self.last_seq,
            "duration_ms": self.duration_ms,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": f"{self.cost_usd:.4f}",
            "is_error": self.is_error,
            "ended_at": self.ended_at.isoformat(),
        }


class HookEvent(models.Model):
    """Every event that reached ingestion, raw: the dedupe record and the audit trail."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="hook_events")
    # The session's organization, copied on insert: the row-level security policy compares
    # it directly (PostgreSQL: a composite key keeps it equal to the session's).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )
    event_key = models.CharField(max_length=200)
    hook_event_name = models.CharField(max_length=100)
    payload = SafeJSONField(default=dict)
    # Size of the payload as posted (JSON, tool output aside); over HOOK_INPUT_MAX_BYTES its
    # strings are cut.
    payload_bytes = models.PositiveBigIntegerField(default=0)
    seq = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "event_key"], name="hook_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.hook_event_name} {self.event_key}"


class CleanupAction(models.TextChoices):
    WORKSPACE_REMOVED = "workspace_removed", "Workspace removed"
    SESSION_FAILED = "session_failed", "Session ended in error"


class CleanupRecord(models.Model):
    """What compensation or the reconciler undid or ended, and why: the operators' trail."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=100, help_text="Who acted: a user, runner, reconciler.")
    action = models.CharField(max_length=40, choices=CleanupAction.choices)
    # Not a foreign key: the record outlives the session (orphans have none at all).
    session_id = models.UUIDField(null=True, blank=True, db_index=True)
    # Indexed: the row-level security policy compares it (orphans, with none, are platform
    # rows: only the bypass sees them).
    organization_id = models.UUIDField(null=True, blank=True, db_index=True)
    path = models.CharField(max_length=1000, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.session_id or self.path}"
