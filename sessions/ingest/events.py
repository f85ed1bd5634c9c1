"""What an event means: the handlers that turn one hook event, assistant message or turn
result into rows (CommandLog, SessionMessage), counters and a status on its locked session.

Handlers work in memory on a `SessionWrite`, the locked session of one batch: they allocate
the gap-free seq and build unsaved rows; `batch.py` inserts the rows of the whole batch with
a few multi-row statements and saves each session once. Nothing here touches the database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from tenants import json_rules

from .. import policies, signals
from ..choices import ENDED_STATUSES, Direction, SessionMode, SessionStatus
from ..models import CommandLog, Session, SessionMessage
from ..services import SessionStateError, apply_status
from .extensions import NO_METERS, Meters

logger = logging.getLogger(__name__)

# Events the runner produces from Claude Code's message stream. They never come over HTTP:
# a hook token must not be able to claim costs or end a turn.
ASSISTANT_MESSAGE = "AssistantMessage"
TURN_RESULT = "TurnResult"
INTERNAL_EVENTS = frozenset({ASSISTANT_MESSAGE, TURN_RESULT})
# An attached Claude Code's own report of a model request (its OpenTelemetry export, taken
# by billing's OTLP receiver with the session's hook token): usage priced like an assistant
# message's, and its own cost figure.
TELEMETRY_USAGE = "TelemetryUsage"

TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure"})

# What hooks may not move a `budget_exceeded` session to (an attached Claude Code's next
# event would otherwise resume it).
PAUSE_KEEPS = frozenset({SessionStatus.RUNNING, SessionStatus.IDLE, SessionStatus.COMPLETED})


@dataclass(frozen=True)
class EndedTurn:
    """What the event that ended a turn says of it; the rest is read when its row is made."""

    duration_ms: int | None
    input_tokens: int
    output_tokens: int
    is_error: bool
    started_at: datetime | None


@dataclass
class SessionWrite:
    """What one batch changes on one locked session: fields to save, rows to insert and the
    live events to publish once it commits, in seq order."""

    session: Session
    now: datetime
    fields: set[str] = field(default_factory=set)
    logs: list[CommandLog] = field(default_factory=list)
    messages: list[SessionMessage] = field(default_factory=list)
    live: list[dict] = field(default_factory=list)
    # The turn this batch ended, if any: its row is written once the batch's costs are in.
    ended_turn: EndedTurn | None = None
    # The batch's meters (extensions): costs and budgets, in this same transaction.
    meters: Meters = NO_METERS

    def next_seq(self) -> int:
        self.session.last_seq += 1
        self.fields.add("last_seq")
        return self.session.last_seq

    def move_to(self, status: str, reason: str = "") -> None:
        if self.session.status == status:
            return
        if self.session.status == SessionStatus.BUDGET_EXCEEDED and status in PAUSE_KEEPS:
            return  # a paused session resumes by a follow-up once its budget has room
        try:
            self.fields.update(apply_status(self.session, status, reason))
        except SessionStateError:
            # Hooks report what already happened; an out-of-order report must not fail them.
            logger.info(
                "session %s: ignored move %s -> %s", self.session.pk, self.session.status, status
            )

    def record(self, name: str, payload: dict, decision: policies.Decision | None) -> int | None:
        """Apply one fresh event; the seq of the last row it wrote, if any."""
        rows_before, live_before = self.row_count, len(self.live)
        status_before = self.session.status
        HANDLERS.get(name, _record_only)(self, payload)
        _learn_claude_session_id(self, payload, name)
        if decision is not None and not decision.allow:
            _record_denial(self, payload, decision)
        if self.session.status != status_before:
            status = {"kind": "status", "status": self.session.status}
            self.live.append({**status, "reason": self.session.status_reason})
        if len(self.live) == live_before:
            self.live.append({"kind": "hook", "hook_event_name": name})
        self.session.last_activity_at = self.now
        self.fields.update({"last_activity_at", "updated_at"})
        return self.session.last_seq if self.row_count > rows_before else None

    @property
    def row_count(self) -> int:
        return len(self.logs) + len(self.messages)


STOPPED = policies.Decision(
    allow=False, reason="The session was stopped in claude-orchestrator.", policy="stopped"
)


def answer(session: Session, decision: policies.Decision | None) -> dict:
    """Claude Code's own answer format. An attached session's Claude Code keeps its own
    permission rules when nothing objects: we only ever take a right away, never grant one."""
    if decision is None:
        return {}
    if decision.allow and session.mode == SessionMode.ATTACHED:
        return {}
    return pre_tool_use_answer(decision)


def pre_tool_use_answer(decision: policies.Decision) -> dict:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow" if decision.allow else "deny",
            "permissionDecisionReason": decision.reason
            or "Allowed by claude-orchestrator policies.",
        }
    }


def stored_payload(name: str, payload: dict) -> dict:
    # The tool's output lives, truncated, in its CommandLog; keep the raw record small.
    if name in ("PostToolUse", "PostToolUseFailure") and "tool_response" in payload:
        return {k: v for k, v in payload.items() if k != "tool_response"}
    return payload


def _truncate(text: str) -> tuple[str, int]:
    """The text cut to HOOK_RESULT_MAX_BYTES, and its original size in bytes."""
    encoded = text.encode()
    limit = settings.HOOK_RESULT_MAX_BYTES
    if len(encoded) <= limit:
        return text, len(encoded)
    return encoded[:limit].decode(errors="ignore"), len(encoded)


def capped(value: object) -> tuple[object, int]:
    """`value` as stored, within HOOK_INPUT_MAX_BYTES of JSON, and its original size.

    Over the limit, its long strings are cut (a Write's content, a long command), so the
    keys that say what happened (file_path, command's start) survive; a value that is big
    for other reasons (thousands of small items) keeps only a preview of its JSON."""
    size, limit = json_rules.byte_size(value), settings.HOOK_INPUT_MAX_BYTES
    if size <= limit:
        return value, size
    budget = limit // 2
    while budget >= 64:
        cut = _cut_strings(value, budget)
        if json_rules.byte_size(cut) <= limit:
            return cut, size
        budget //= 2
    preview = json.dumps(value, ensure_ascii=False, default=str).encode()[: limit // 2]
    return {"truncated": True, "preview": preview.decode(errors="ignore")}, size


def _cut_strings(value: object, budget: int) -> object:
    if isinstance(value, str):
        encoded = value.encode()
        return value if len(encoded) <= budget else encoded[:budget].decode(errors="ignore") + "…"
    if isinstance(value, dict):
        return {k: _cut_strings(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_strings(item, budget) for item in value]
    return value


def _result_text(response: object) -> str:
    if isinstance(response, str):
        return response
    if isinstance(response, dict) and "stdout" in response:
        out, err = str(response.get("stdout") or ""), str(response.get("stderr") or "")
        return f"{out}\n{err}" if out and err else out or err
    if response is None:
        return ""
    return json.dumps(response, default=str)


def _duration(payload: dict) -> int | None:
    value = payload.get("duration_ms")
    return int(value) if isinstance(value, int | float) and value >= 0 else None


def _add_log(
    write: SessionWrite, payload: dict, *, result: str, is_error: bool, denied: bool = False
) -> None:
    text, size = _truncate(result)
    tool_input = payload.get("tool_input")
    tool_input, input_bytes = capped(
        tool_input if isinstance(tool_input, dict) else {"value": tool_input}
    )
    log = CommandLog(
        session=write.session,
        organization_id=write.session.organization_id,
        seq=write.next_seq(),
        tool=str(payload.get("tool_name") or "unknown")[:200],
        input=tool_input,
        input_bytes=input_bytes,
        result=text,
        result_bytes=size,
        is_error=is_error,
        duration_ms=_duration(payload),
        tool_use_id=str(payload.get("tool_use_id") or "")[:200],
        created_at=write.now,
    )
    if not denied:  # a denied call never ran: it costs nothing
        write.meters.tool_logged(write, log)
    write.logs.append(log)
    write.live.append(log.as_event())
    signals.send_on_commit(signals.tool_use_recorded, session=write.session, command_log=log)
    write.session.tool_call_count += 1
    write.fields.add("tool_call_count")


def _add_message(write: SessionWrite, direction: str, content: str) -> None:
    message = SessionMessage(
        session=write.session,
        organization_id=write.session.organization_id,
        seq=write.next_seq(),
        direction=direction,
        content=content,
        created_at=write.now,
    )
    write.messages.append(message)
    write.live.append(message.as_event())
    signals.send_on_commit(signals.message_recorded, session=write.session, message=message)


def _attached(write: SessionWrite) -> bool:
    return write.session.mode == SessionMode.ATTACHED


def _on_pre_tool_use(write: SessionWrite, payload: dict) -> None:
    if _attached(write):
        write.move_to(SessionStatus.RUNNING)
    write.live.append(tool_start_event(payload, write.now))


# The input keys that say what a tool call is about, in order of preference: what a running
# row shows, and the command log's one-line summary (sessions/web/views.py).
SUMMARY_KEYS = (
    "command",
    "file_path",
    "notebook_path",
    "pattern",
    "path",
    "url",
    "query",
    "description",
)
TOOL_START_CHARS = 300


def tool_start_event(payload: dict, now: datetime) -> dict:
    """A tool call that began: the page shows it running until its log row arrives (same
    tool_use_id). Live only, no seq: the row it stands for is the log. It carries one
    summary key of the input, cut short, so the hot path never serializes a whole input."""
    tool_input = payload.get("tool_input")
    shown = {}
    if isinstance(tool_input, dict):
        for key in SUMMARY_KEYS:
            value = tool_input.get(key)
            if isinstance(value, str) and value.strip():
                shown = {key: value[:TOOL_START_CHARS]}
                break
    return {
        "kind": "tool_start",
        "tool": str(payload.get("tool_name") or "unknown")[:200],
        "tool_use_id": str(payload.get("tool_use_id") or "")[:200],
        "input": shown,
        "started_at": now.isoformat(),
    }


def _on_post_tool_use(write: SessionWrite, payload: dict) -> None:
    if _attached(write):
        write.move_to(SessionStatus.RUNNING)
    _add_log(write, payload, result=_result_text(payload.get("tool_response")), is_error=False)


def _on_post_tool_use_failure(write: SessionWrite, payload: dict) -> None:
    _add_log(write, payload, result=str(payload.get("error") or ""), is_error=True)


def _record_denial(write: SessionWrite, payload: dict, decision: policies.Decision) -> None:
    _add_log(
        write,
        payload,
        result=f"Denied by {decision.policy}: {decision.reason}",
        is_error=True,
        denied=True,
    )


def _learn_claude_session_id(write: SessionWrite, payload: dict, name: str) -> None:
    """An attached session's hook payloads name its Claude session; the first one seen is
    recorded, for display (http hooks never deliver SessionStart, so no single event can be
    relied on). A managed session's id is what the runner resumes: only its turn result, which
    the runner reads from the SDK itself, may set it, never what a hook payload claims."""
    claude_id = payload.get("session_id")
    if not _attached(write) or name in INTERNAL_EVENTS or write.session.agent_session_id:
        return
    if isinstance(claude_id, str) and claude_id:
        write.session.agent_session_id = claude_id[:100]
        write.fields.add("agent_session_id")


def _on_session_start(write: SessionWrite, payload: dict) -> None:
    if _attached(write):
        write.move_to(SessionStatus.RUNNING)


def _on_user_prompt(write: SessionWrite, payload: dict) -> None:
    # A managed session records its prompts when it sends them; only an attached one
    # learns of them here.
    if _attached(write):
        _add_message(write, Direction.USER, str(payload.get("prompt") or ""))
        write.move_to(SessionStatus.RUNNING)


def _on_stop(write: SessionWrite, payload: dict) -> None:
    if _attached(write):
        text = payload.get("last_assistant_message")
        if isinstance(text, str) and text:
            _add_message(write, Direction.ASSISTANT, text)
        write.move_to(SessionStatus.IDLE)
        session = write.session
        _end_turn(write, None, session.turn_input_tokens, session.turn_output_tokens, False)


def _on_session_end(write: SessionWrite, payload: dict) -> None:
    if _attached(write):
        write.move_to(SessionStatus.COMPLETED, str(payload.get("reason") or ""))


def _on_notification(write: SessionWrite, payload: dict) -> None:
    _add_message(write, Direction.SYSTEM, str(payload.get("message") or ""))


def _on_assistant_message(write: SessionWrite, payload: dict) -> None:
    # A message of tool calls only has no text, but its usage still costs.
    text = str(payload.get("text") or "")
    if text or "usage" not in payload:
        _add_message(write, Direction.ASSISTANT, text)
    if isinstance(payload.get("usage"), dict):
        _count_turn_tokens(write, payload["usage"])
        write.meters.assistant_usage(write, payload)


def _count_turn_tokens(write: SessionWrite, usage: dict) -> None:
    """One model response's tokens into the turn in progress, for the page to show live."""
    session = write.session
    session.turn_input_tokens += _count(usage.get("input_tokens"))
    session.turn_output_tokens += _count(usage.get("output_tokens"))
    write.fields.update({"turn_input_tokens", "turn_output_tokens"})
    write.live.append(
        {
            "kind": "usage",
            "turn_input_tokens": session.turn_input_tokens,
            "turn_output_tokens": session.turn_output_tokens,
        }
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _end_turn(
    write: SessionWrite, duration_ms: int | None, input_tokens: int, output_tokens: int, error
) -> None:
    session = write.session
    write.ended_turn = EndedTurn(
        duration_ms=duration_ms,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        is_error=bool(error),
        started_at=session.turn_claimed_at if session.mode == SessionMode.MANAGED else None,
    )
    session.turn_input_tokens = session.turn_output_tokens = 0
    write.fields.update({"turn_input_tokens", "turn_output_tokens"})


def _on_turn_result(write: SessionWrite, payload: dict) -> None:
    session, usage = write.session, payload.get("usage") or {}
    session.num_turns += int(payload.get("num_turns") or 0)
    session.input_tokens += int(usage.get("input_tokens") or 0)
    session.output_tokens += int(usage.get("output_tokens") or 0)
    # Claude Code reports cost and per-model usage as running totals for its session.
    session.total_cost_usd = Decimal(str(payload.get("total_cost_usd") or 0))
    session.model_usage = payload.get("model_usage") or {}
    session.last_result = {k: payload.get(k) for k in RESULT_FIELDS}
    if payload.get("session_id"):
        session.agent_session_id = str(payload["session_id"])[:100]
    write.fields.update(
        {
            "num_turns",
            "input_tokens",
            "output_tokens",
            "total_cost_usd",
            "model_usage",
            "last_result",
            "agent_session_id",
        }
    )
    _send_turn_finished(session, payload, usage)
    _end_turn(
        write,
        _duration(payload),
        int(usage.get("input_tokens") or 0),
        int(usage.get("output_tokens") or 0),
        payload.get("is_error"),
    )
    if session.status in ENDED_STATUSES or session.status == SessionStatus.BUDGET_EXCEEDED:
        return  # stopped, or out of budget, meanwhile: that stands
    if payload.get("is_error"):
        write.move_to(SessionStatus.ERROR, _error_reason(payload))
    else:
        write.move_to(SessionStatus.COMPLETED)


def _send_turn_finished(session: Session, payload: dict, usage: dict) -> None:
    signals.send_on_commit(
        signals.turn_finished,
        session=session,
        subtype=str(payload.get("subtype") or ""),
        is_error=bool(payload.get("is_error")),
        num_turns=int(payload.get("num_turns") or 0),
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cost_usd=session.total_cost_usd,
        duration_ms=_duration(payload),
    )


RESULT_FIELDS = (
    "subtype",
    "is_error",
    "num_turns",
    "duration_ms",
    "duration_api_ms",
    "total_cost_usd",
    "terminal_reason",
    "result",
    "usage",
)


def _error_reason(payload: dict) -> str:
    detail = payload.get("result") or payload.get("terminal_reason") or payload.get("subtype")
    return f"Claude Code ended the turn with an error: {detail}"


def _on_telemetry_usage(write: SessionWrite, payload: dict) -> None:
    if isinstance(payload.get("usage"), dict):
        _count_turn_tokens(write, payload["usage"])
        write.meters.assistant_usage(write, payload)
    claude_cost = payload.get("claude_cost_usd")
    number = isinstance(claude_cost, int | float) and not isinstance(claude_cost, bool)
    if number and 0 <= claude_cost < 1_000_000:
        write.session.total_cost_usd += Decimal(str(claude_cost))
        write.fields.add("total_cost_usd")


def _record_only(write: SessionWrite, payload: dict) -> None:
    """SubagentStop, PreCompact and any event newer CLIs add: the raw record only."""


HANDLERS: dict[str, Callable[[SessionWrite, dict], None]] = {
    "SessionStart": _on_session_start,
    "PreToolUse": _on_pre_tool_use,
    "UserPromptSubmit": _on_user_prompt,
    "PostToolUse": _on_post_tool_use,
    "PostToolUseFailure": _on_post_tool_use_failure,
    "Notification": _on_notification,
    "Stop": _on_stop,
    "SessionEnd": _on_session_end,
    ASSISTANT_MESSAGE: _on_assistant_message,
    TURN_RESULT: _on_turn_result,
    TELEMETRY_USAGE: _on_telemetry_usage,
}
