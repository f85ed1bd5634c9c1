"""One batch of events, committed together: the group commit.

Per organization in the batch (the row-level security context is one organization per
transaction), one transaction: lock the batch's sessions once, in id order (so two processes'
batches never deadlock); check each hook post's token against its locked row; record the raw
events with one `INSERT … ON CONFLICT DO NOTHING RETURNING` (what it returns is new, the
rest are duplicates); apply each new event in order on its locked session in memory (the
gap-free seq, rows, counters, status, the PreToolUse decision); write the rows and session
changes (`statements`); after commit, publish each session's new events in one message.

A batch that fails is written again one event per transaction, so one bad event fails alone.
The hot path uses SQL of its own (`statements`) because the ORM's per-row cost (model
instances, SQL compilation, `save()`) was most of an event's CPU; everything else uses the ORM.
"""

from __future__ import annotations

import hmac
import logging
import math
import uuid
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.utils import timezone

from tenants.tenancy import tenant_context

from .. import policies
from ..choices import SessionStatus
from ..live import feed
from ..models import Session
from .events import STOPPED, SessionWrite, answer, pre_tool_use_answer
from .extensions import start as start_meters
from .statements import lock_sessions, record_events, write_changes
from .submission import IngestError, IngestRefused, IngestResult, Outcome, Submission
from .turns import record_turns

logger = logging.getLogger(__name__)

# Once a session is over, its hook token records nothing more.
CLOSED_STATUSES = (SessionStatus.STOPPED, SessionStatus.ERROR)


def write(items: Sequence[Submission]) -> list[Outcome]:
    """Commit `items`; one outcome per item, in order."""
    outcomes: list[Outcome | None] = [None] * len(items)
    groups: dict[uuid.UUID, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(item.organization_id, []).append(index)
    for organization_id, indices in groups.items():
        group = [items[index] for index in indices]
        for index, outcome in zip(
            indices, _write_group_or_each(organization_id, group), strict=True
        ):
            outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]


def _write_group_or_each(organization_id, group: list[Submission]) -> list[Outcome]:
    try:
        return _write_group(organization_id, group)
    except Exception as exc:
        if len(group) == 1:
            return [_failure(exc)]
        logger.warning("a batch of %d events failed (%r); writing them one by one", len(group), exc)
    return [_write_alone(organization_id, item) for item in group]


def _write_alone(organization_id, item: Submission) -> Outcome:
    try:
        return _write_group(organization_id, [item])[0]
    except Exception as exc:
        return _failure(exc)


def _failure(exc: Exception) -> IngestRefused:
    """What the caller of an event that could not be committed is told. Nothing of it was
    written: its transaction rolled back."""
    if connection.errors_occurred and not connection.is_usable():
        connection.close()
    if isinstance(exc, IngestRefused):
        return exc
    # What the database refused, or a handler could not read (a counter that is no number):
    # bad data in this event, not a fault of the server.
    if isinstance(exc, DataError | IntegrityError | ValueError | TypeError):
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return IngestError(f"The event could not be recorded: {detail}")
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("ingestion could not reach the database: %r", exc)
        return IngestRefused(
            "The database is unavailable; the event was not recorded. Send it again.", status=503
        )
    logger.exception("recording an event failed", exc_info=exc)
    return IngestRefused("The event could not be recorded.", status=500)


def _write_group(organization_id, group: list[Submission]) -> list[Outcome]:
    with tenant_context(organization_id), transaction.atomic():
        sessions = lock_sessions({item.session_id for item in group})
        now = timezone.now()
        meters = start_meters(organization_id, now)
        writes: dict[uuid.UUID, SessionWrite] = {}
        outcomes: list[Outcome | None] = [None] * len(group)
        admitted: list[tuple[int, Submission, SessionWrite]] = []
        for index, item in enumerate(group):
            session = sessions.get(item.session_id)
            if session is None:
                outcomes[index] = IngestRefused("The session no longer exists.", status=404)
                continue
            write = writes.setdefault(
                session.pk, SessionWrite(session=session, now=now, meters=meters)
            )
            gate = _hook_gate(item, write) if item.via_hook else None
            if gate is not None:
                outcomes[index] = gate
            else:
                admitted.append((index, item, write))
        fresh = record_events([(item, write) for _, item, write in admitted], now)
        seqs: dict[int, int] = {}
        for index, item, write in admitted:
            outcomes[index] = _apply(item, write, fresh, seqs)
        meters.finish(list(writes.values()))
        write_changes(list(writes.values()), seqs)
        record_turns(list(writes.values()))
        _publish_on_commit(writes.values())
    return outcomes  # type: ignore[return-value]


def _apply(
    item: Submission, write: SessionWrite, fresh: dict[tuple, int], seqs: dict[int, int]
) -> IngestResult:
    event_id = fresh.pop((item.session_id, item.key), None)
    decision = _decide(item, write, fresh=event_id is not None)
    if event_id is None:  # recorded before, in an earlier batch or earlier in this one
        return IngestResult(duplicate=True, response=answer(write.session, decision))
    seq = write.record(item.name, item.payload, decision)
    if seq is not None:
        seqs[event_id] = seq
    return IngestResult(seq=seq, response=answer(write.session, decision))


def _decide(item: Submission, write: SessionWrite, *, fresh: bool) -> policies.Decision | None:
    """PreToolUse only: decided on the locked session, so the state it reads (a stop, the
    totals a budget compares) is the state of this moment, and the events before it in the
    batch are counted. The policies first, then the meters (budgets), which reserve the
    call's known cost in this transaction, once: a repeated delivery is decided again but
    charged nothing."""
    if not item.asks_decision:
        return None
    session = write.session
    if session.status == SessionStatus.STOPPED:
        # Stopping a session means something: its Claude Code may not go on.
        return STOPPED
    decision = policies.decide(session, item.payload)
    if not decision.allow:
        return decision
    return write.meters.admit(write, item.payload, fresh=fresh) or decision


# --- hook posts: the checks made against the locked row ------------------------------------


def _hook_gate(item: Submission, write: SessionWrite) -> Outcome | None:
    """None if a hook post may be recorded; otherwise its answer. The token is compared with
    the row here, in the transaction that records, whatever the credential cache said."""
    session = write.session
    stored = session.hook_token_hash
    if not stored or not hmac.compare_digest(item.token_hash or "", stored):
        return IngestRefused("Invalid hook token.", status=401)
    limited = _over_rate_limit(write)
    if limited is not None:
        return limited
    if session.status in CLOSED_STATUSES:
        return _closed(item, session)
    return None


def _closed(item: Submission, session: Session) -> Outcome:
    """A stopped or failed session records nothing more. Its Claude Code is still told no in
    its own format when it asks to run a tool: it ignores the body of a non-2xx answer and
    would run the tool."""
    reason = f"The session is {session.status} in claude-orchestrator."
    if item.asks_decision:
        denial = policies.Decision(
            allow=False, reason=f"{reason} No more tool calls.", policy="closed"
        )
        return IngestResult(response=pre_tool_use_answer(denial))
    return IngestRefused(f"{reason} Its hook token no longer records events.", status=403)


def _over_rate_limit(write: SessionWrite) -> IngestRefused | None:
    """At most HOOK_RATE_LIMIT hook events per HOOK_RATE_WINDOW_SECONDS into one session (a
    fixed window, counted on the locked session row, so every process shares the count at no
    extra round trip); 429 beyond, with the seconds until the window ends as Retry-After.
    The hook client spools a 429 and replays."""
    limit, window = settings.HOOK_RATE_LIMIT, settings.HOOK_RATE_WINDOW_SECONDS
    if limit <= 0 or window <= 0:
        return None
    session, now = write.session, write.now.timestamp()
    start = int(now // window) * window
    if session.hook_window_start != start:
        session.hook_window_start, session.hook_window_count = start, 0
    session.hook_window_count += 1
    write.fields.update({"hook_window_start", "hook_window_count"})
    if session.hook_window_count <= limit:
        return None
    retry_after = max(1, math.ceil(start + window - now))
    return IngestRefused(
        f"More than {limit} hook events in {window} s into this session; retry in {retry_after} s.",
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


def _publish_on_commit(writes: Iterable[SessionWrite]) -> None:
    """One live message per session per batch, with its events in seq order."""
    batches = [(write.session.pk, write.live) for write in writes if write.live]
    if batches:
        transaction.on_commit(lambda: [feed.publish_many(pk, events) for pk, events in batches])
