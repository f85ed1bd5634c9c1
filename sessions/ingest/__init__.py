"""The one ingestion path: every hook event, assistant message and turn result of a session.

Callers (hook posts, the runner's in-process SDK callbacks and messages) validate an event
and hand it to the process's writer, which commits what has arrived in one transaction per
organization (group commit: `writer`, `batch`) and answers each caller after its batch
commits, with its own seq, duplicate flag and PreToolUse decision. What an event means (rows,
counters, status) is in `events`.

    ingest(session=..., payload=..., event_id=...)  -> IngestResult, or raises IngestRefused
"""

from __future__ import annotations

import hashlib
import json
import uuid
from concurrent.futures import Future

from .events import (
    ASSISTANT_MESSAGE,
    INTERNAL_EVENTS,
    TOOL_EVENTS,
    TURN_RESULT,
    capped,
    pre_tool_use_answer,
)
from .submission import IngestError, IngestRefused, IngestResult, Submission
from .writer import submit, submit_to_writer

__all__ = [
    "ASSISTANT_MESSAGE",
    "INTERNAL_EVENTS",
    "TURN_RESULT",
    "IngestError",
    "IngestRefused",
    "IngestResult",
    "Submission",
    "capped",
    "event_key",
    "ingest",
    "pre_tool_use_answer",
    "prepare",
    "result_of",
    "submit",
    "submit_to_writer",
]


def ingest(*, session, payload: object, event_id: str = "") -> IngestResult:
    """Record one event of `session` (a managed session's runner, or tests); wait for it."""
    item = prepare(
        session_id=session.pk,
        organization_id=session.organization_id,
        payload=payload,
        event_id=event_id,
    )
    return result_of(submit(item))


def prepare(
    *,
    session_id: uuid.UUID,
    organization_id: uuid.UUID,
    payload: object,
    event_id: str = "",
    token_hash: str | None = None,
) -> Submission:
    """Validate an event for the writer (IngestError when it cannot be taken)."""
    name = event_name(payload)
    return Submission(
        session_id=session_id,
        organization_id=organization_id,
        name=name,
        payload=payload,  # type: ignore[arg-type]
        key=event_key(name, payload, event_id),  # type: ignore[arg-type]
        token_hash=token_hash,
    )


def result_of(future: Future) -> IngestResult:
    outcome = future.result()
    if isinstance(outcome, IngestRefused):
        raise outcome
    return outcome


def event_name(payload: object) -> str:
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
