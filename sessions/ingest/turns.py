"""The rows of the turns a batch ended (`SessionWrite.ended_turn`), written after the batch's
costs are in, so that a turn's cost is the session's cost then, less what the turns before
it cost. A turn ends once per model turn at most: the reads here are off the hot path."""

from __future__ import annotations

from django.db.models import Count, Max, Sum

from ..models import CommandLog, SessionMessage, SessionTurn
from .events import SessionWrite


def record_turns(writes: list[SessionWrite]) -> None:
    for write in writes:
        if write.ended_turn is not None:
            turn = _turn_row(write)
            turn.save(force_insert=True)
            write.live.append(turn.as_event())


def _turn_row(write: SessionWrite) -> SessionTurn:
    session, ended = write.session, write.ended_turn
    before = SessionTurn.objects.filter(session=session).aggregate(
        count=Count("pk"), cost=Sum("cost_usd"), last_seq=Max("last_seq"), ended=Max("ended_at")
    )
    previous_seq = before["last_seq"] or 0
    started_at = ended.started_at or _first_event_at(session, previous_seq) or write.now
    duration_ms = ended.duration_ms
    if duration_ms is None:
        duration_ms = max(0, int((write.now - started_at).total_seconds() * 1000))
    return SessionTurn(
        session=session,
        organization_id=session.organization_id,
        number=before["count"] + 1,
        last_seq=session.last_seq,
        started_at=started_at,
        ended_at=write.now,
        duration_ms=duration_ms,
        input_tokens=ended.input_tokens,
        output_tokens=ended.output_tokens,
        cost_usd=max(session.cost_usd - (before["cost"] or 0), 0),
        is_error=ended.is_error,
    )


def _first_event_at(session, after_seq: int):
    """When an attached session's turn began: its first message or tool call."""
    times = [
        model.objects.filter(session=session, seq__gt=after_seq)
        .order_by("seq")
        .values_list("created_at", flat=True)
        .first()
        for model in (SessionMessage, CommandLog)
    ]
    return min((time for time in times if time is not None), default=None)
