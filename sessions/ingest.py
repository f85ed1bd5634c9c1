"""The one ingestion path: every hook event, assistant message and turn result of a session.

`ingest()` runs one transaction per event: it locks the session row (which serializes the
session's events, so dedupe and seq allocation need no other coordination), records the raw
event once, writes what it means (a CommandLog, a SessionMessage, counters, status) and, after
commit, publishes one live event. Hook payloads come from Claude Code's in-process SDK
callbacks (managed sessions) and from `POST /api/hooks/` (attached sessions, the hook client).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants import json_rules
from tenants.tenancy import tenant_context

from . import policies, signals
from .choices import ENDED_STATUSES, Direction, SessionMode, SessionStatus
from .live import feed
from .models import CommandLog, HookEvent, Session, SessionMessage
from .services import SessionStateError, apply_status

logger = logging.getLogger(__name__)

# Events the runner produces from Claude Code's message stream. They never come over HTTP:
# a hook token must not be able to claim costs or end a turn.
ASSISTANT_MESSAGE = "AssistantMessage"
TURN_RESULT = "TurnResult"
INTERNAL_EVENTS = frozenset({ASSISTANT_MESSAGE, TURN_RESULT})

TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure"})


class IngestError(ValueError):
    """The payload is not something ingestion can take (answered as 400)."""


@dataclass
class IngestResult:
    duplicate: bool = False
    seq: int | None = None
    # What Claude Code should be told; for PreToolUse, the decision.
    response: dict = field(default_factory=dict)


@dataclass
class _Writing:
    """What one event's handler changes on the locked session."""

    session: Session
    fields: set[str] = field(default_factory=set)
    rows: list[CommandLog | SessionMessage] = field(default_factory=list)
    status_changed: bool = False

    def next_seq(self) -> int:
        self.session.last_seq += 1
        self.fields.add("last_seq")
        return self.session.last_seq

    def move_to(self, status: str, reason: str = "") -> None:
        if self.session.status == status:
            return
        try:
            self.fields.update(apply_status(self.session, status, reason))
            self.status_changed = True
        except SessionStateError:
            # Hooks report what already happened; an out-of-order report must not fail them.
            logger.info(
                "session %s: ignored move %s -> %s", self.session.pk, self.session.status, status
            )


def ingest(*, session: Session, payload: object, event_id: str = "") -> IngestResult:
    # Every caller (hook posts, the runner's in-process hooks and messages) writes as the
    # session's organization: the only rows this event may touch.
    with tenant_context(session.organization_id):
        return _ingest(session=session, payload=payload, event_id=event_id)


def _ingest(*, session: Session, payload: object, event_id: str = "") -> IngestResult:
    name = _event_name(payload)
    decision = policies.decide(session, payload) if name == "PreToolUse" else None
    key = event_key(name, payload, event_id)
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if decision is not None and locked.status == SessionStatus.STOPPED:
            # Stopping an attached session means something: its Claude Code may not go on.
            decision = STOPPED
        if HookEvent.objects.filter(session=locked, event_key=key).exists():
            return IngestResult(duplicate=True, response=_answer(locked, decision))
        writing = _Writing(session=locked)
        HANDLERS.get(name, _record_only)(writing, payload)
        _learn_claude_session_id(writing, payload, name)
        if decision is not None and not decision.allow:
            _record_denial(writing, payload, decision)
        seq = writing.rows[-1].seq if writing.rows else None
        stored, payload_bytes = capped(_stored_payload(name, payload))
        HookEvent.objects.create(
            session=locked,
            organization_id=locked.organization_id,
            event_key=key,
            hook_event_name=name,
            payload=stored,
            payload_bytes=payload_bytes,
            seq=seq,
        )
        locked.last_activity_at = timezone.now()
        writing.fields.update({"last_activity_at", "updated_at"})
        locked.save(update_fields=sorted(writing.fields))
        _publish_on_commit(writing, name)
    return IngestResult(seq=seq, response=_answer(locked, decision))


STOPPED = policies.Decision(
    allow=False, reason="The session was stopped in claude-orchestrator.", policy="stopped"
)


def _event_name(payload: object) -> str:
    if not isinstance(payload, dict):
        raise IngestError("A hook payload is a JSON object.")
    name = payload.get("hook_event_name")
    if not isinstance(name, str) or not name:
        raise IngestError("The payload has no hook_event_name.")
    if len(name) > 100:
        raise IngestError("hook_event_name is too long.")
    return name


def event_key(name: str, payload: dict, event_id: str = "") -> str:
    """What makes two deliveries the same event. A tool event is identified by its tool use
    id, whichever path delivered it; otherwise by the client's event id, or by content."""
    tool_use_id = payload.get("tool_use_id")
    if name in TOOL_EVENTS and isinstance(tool_use_id, str) and tool_use_id:
        return f"{name}:{tool_use_id}"[:200]
    if event_id:
        return f"id:{event_id}"[:200]
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{name}:{digest}"


def _answer(session: Session, decision: policies.Decision | None) -> dict:
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


def _add_log(writing: _Writing, payload: dict, *, result: str, is_error: bool) -> None:
    text, size = _truncate(result)
    tool_input = payload.get("tool_input")
    tool_input, input_bytes = capped(
        tool_input if isinstance(tool_input, dict) else {"value": tool_input}
    )
    log = CommandLog.objects.create(
        session=writing.session,
        organization_id=writing.session.organization_id,
        seq=writing.next_seq(),
        tool=str(payload.get("tool_name") or "unknown")[:200],
        input=tool_input,
        input_bytes=input_bytes,
        result=text,
        result_bytes=size,
        is_error=is_error,
        duration_ms=_duration(payload),
        tool_use_id=str(payload.get("tool_use_id") or "")[:200],
    )
    writing.rows.append(log)
    signals.send_on_commit(signals.tool_use_recorded, session=writing.session, command_log=log)
    writing.session.tool_call_count += 1
    writing.fields.add("tool_call_count")


def _add_message(writing: _Writing, direction: str, content: str) -> None:
    message = SessionMessage.objects.create(
        session=writing.session,
        organization_id=writing.session.organization_id,
        seq=writing.next_seq(),
        direction=direction,
        content=content,
    )
    writing.rows.append(message)
    signals.send_on_commit(signals.message_recorded, session=writing.session, message=message)


def _attached(writing: _Writing) -> bool:
    return writing.session.mode == SessionMode.ATTACHED


def _on_pre_tool_use(writing: _Writing, payload: dict) -> None:
    if _attached(writing):
        writing.move_to(SessionStatus.RUNNING)


def _on_post_tool_use(writing: _Writing, payload: dict) -> None:
    if _attached(writing):
        writing.move_to(SessionStatus.RUNNING)
    _add_log(writing, payload, result=_result_text(payload.get("tool_response")), is_error=False)


def _on_post_tool_use_failure(writing: _Writing, payload: dict) -> None:
    _add_log(writing, payload, result=str(payload.get("error") or ""), is_error=True)


def _record_denial(writing: _Writing, payload: dict, decision: policies.Decision) -> None:
    _add_log(
        writing, payload, result=f"Denied by {decision.policy}: {decision.reason}", is_error=True
    )


def _learn_claude_session_id(writing: _Writing, payload: dict, name: str) -> None:
    """An attached session's hook payloads name its Claude session; the first one seen is
    recorded, for display (http hooks never deliver SessionStart, so no single event can be
    relied on). A managed session's id is what the runner resumes: only its turn result, which
    the runner reads from the SDK itself, may set it, never what a hook payload claims."""
    claude_id = payload.get("session_id")
    if not _attached(writing) or name in INTERNAL_EVENTS or writing.session.agent_session_id:
        return
    if isinstance(claude_id, str) and claude_id:
        writing.session.agent_session_id = claude_id[:100]
        writing.fields.add("agent_session_id")


def _on_session_start(writing: _Writing, payload: dict) -> None:
    if _attached(writing):
        writing.move_to(SessionStatus.RUNNING)


def _on_user_prompt(writing: _Writing, payload: dict) -> None:
    # A managed session records its prompts when it sends them; only an attached one
    # learns of them here.
    if _attached(writing):
        _add_message(writing, Direction.USER, str(payload.get("prompt") or ""))
        writing.move_to(SessionStatus.RUNNING)


def _on_stop(writing: _Writing, payload: dict) -> None:
    if _attached(writing):
        text = payload.get("last_assistant_message")
        if isinstance(text, str) and text:
            _add_message(writing, Direction.ASSISTANT, text)
        writing.move_to(SessionStatus.IDLE)


def _on_session_end(writing: _Writing, payload: dict) -> None:
    if _attached(writing):
        writing.move_to(SessionStatus.COMPLETED, str(payload.get("reason") or ""))


def _on_notification(writing: _Writing, payload: dict) -> None:
    _add_message(writing, Direction.SYSTEM, str(payload.get("message") or ""))


def _on_assistant_message(writing: _Writing, payload: dict) -> None:
    _add_message(writing, Direction.ASSISTANT, str(payload.get("text") or ""))


def _on_turn_result(writing: _Writing, payload: dict) -> None:
    session, usage = writing.session, payload.get("usage") or {}
    session.num_turns += int(payload.get("num_turns") or 0)
    session.input_tokens += int(usage.get("input_tokens") or 0)
    session.output_tokens += int(usage.get("output_tokens") or 0)
    # Claude Code reports cost and per-model usage as running totals for its session.
    session.total_cost_usd = Decimal(str(payload.get("total_cost_usd") or 0))
    session.model_usage = payload.get("model_usage") or {}
    session.last_result = {k: payload.get(k) for k in RESULT_FIELDS}
    if payload.get("session_id"):
        session.agent_session_id = str(payload["session_id"])[:100]
    writing.fields.update(
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
    if session.status in ENDED_STATUSES:
        return  # stopped meanwhile: the stop stands
    if payload.get("is_error"):
        writing.move_to(SessionStatus.ERROR, _error_reason(payload))
    else:
        writing.move_to(SessionStatus.COMPLETED)


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


def _record_only(writing: _Writing, payload: dict) -> None:
    """SubagentStop, PreCompact and any event newer CLIs add: the raw record only."""


HANDLERS: dict[str, Callable[[_Writing, dict], None]] = {
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
}


def _stored_payload(name: str, payload: dict) -> dict:
    # The tool's output lives, truncated, in its CommandLog; keep the raw record small.
    if name in ("PostToolUse", "PostToolUseFailure") and "tool_response" in payload:
        return {k: v for k, v in payload.items() if k != "tool_response"}
    return payload


def _publish_on_commit(writing: _Writing, name: str) -> None:
    session = writing.session
    events = [row.as_event() for row in writing.rows]
    if writing.status_changed:
        events.append({"kind": "status", "status": session.status, "reason": session.status_reason})
    if not events:
        events = [{"kind": "hook", "hook_event_name": name}]

    def push() -> None:
        for event in events:
            feed.publish(session.pk, event)

    transaction.on_commit(push)
