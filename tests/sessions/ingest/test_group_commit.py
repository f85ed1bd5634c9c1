"""The group commit: several events in one transaction, each answered with its own outcome.

Batches are built here by calling `batch.write` with several submissions (what the writer
does with what has arrived), and through the writer thread itself with a linger long enough
that concurrent callers share a batch."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from sessions.ingest import (
    TURN_RESULT,
    IngestError,
    IngestRefused,
    IngestResult,
    batch,
    ingest,
    prepare,
    writer,
)
from sessions.models import CommandLog, HookEvent, Session, SessionMessage
from tests.conftest import new_session
from tests.sessions.conftest import captured

pytestmark = pytest.mark.django_db(transaction=True)


def tool_use(n: int, name: str = "PostToolUse") -> dict:
    return {
        **captured()["PostToolUse"],
        "hook_event_name": name,
        "tool_use_id": f"toolu_batch_{n}",
    }


def submission(session, payload: dict, event_id: str = ""):
    return prepare(
        session_id=session.pk,
        organization_id=session.organization_id,
        payload=payload,
        event_id=event_id,
    )


def seqs_of(session) -> list[int]:
    logs = CommandLog.objects.filter(session=session).values_list("seq", flat=True)
    messages = SessionMessage.objects.filter(session=session).values_list("seq", flat=True)
    return sorted([*logs, *messages])


def test_one_bad_event_fails_alone_and_the_rest_of_its_batch_commits(attached):
    bad = {"hook_event_name": TURN_RESULT, "usage": {"input_tokens": "a great many"}}
    items = [submission(attached, tool_use(1)), submission(attached, tool_use(2))]
    items += [submission(attached, bad), submission(attached, captured()["Stop"])]

    outcomes = batch.write(items)

    assert isinstance(outcomes[2], IngestError) and outcomes[2].status == 400
    assert "could not be recorded" in outcomes[2].detail
    assert [outcome.seq for outcome in outcomes if isinstance(outcome, IngestResult)] == [1, 2, 3]
    assert seqs_of(attached) == [1, 2, 3]
    names = HookEvent.objects.filter(session=attached).values_list("hook_event_name", flat=True)
    assert sorted(names) == ["PostToolUse", "PostToolUse", "Stop"]  # nothing of the bad one
    attached.refresh_from_db()
    assert (attached.tool_call_count, attached.last_seq, attached.status) == (2, 3, "idle")


def test_duplicates_in_one_batch_and_across_batches_are_recorded_once(attached):
    first = batch.write(
        [
            submission(attached, tool_use(1)),
            submission(attached, tool_use(1)),  # the same tool call, delivered twice
            submission(attached, captured()["Stop"], event_id="stop-1"),
            submission(attached, tool_use(2)),
        ]
    )
    assert [(o.seq, o.duplicate) for o in first] == [
        (1, False),
        (None, True),
        (2, False),
        (3, False),
    ]

    again = batch.write(
        [
            submission(attached, tool_use(2)),
            submission(attached, captured()["Stop"], event_id="stop-1"),
            submission(attached, tool_use(3)),
        ]
    )
    assert [(o.seq, o.duplicate) for o in again] == [(None, True), (None, True), (4, False)]
    assert seqs_of(attached) == [1, 2, 3, 4]
    assert HookEvent.objects.filter(session=attached).count() == 4
    event = HookEvent.objects.get(session=attached, event_key="PostToolUse:toolu_batch_3")
    assert event.seq == 4  # the raw record points at the row it became


def test_a_batch_spans_sessions_and_organizations_each_in_its_own_order(member, outsider):
    mine = new_session(member, name="mine", mode="attached")
    theirs = new_session(outsider, name="theirs", mode="attached")
    items = [submission(session, tool_use(n)) for n in range(3) for session in (mine, theirs)]

    outcomes = batch.write(items)

    assert [o.seq for o in outcomes] == [1, 1, 2, 2, 3, 3]
    assert seqs_of(mine) == seqs_of(theirs) == [1, 2, 3]
    assert CommandLog.objects.get(session=theirs, seq=1).organization_id == outsider.organization_id


def test_a_session_gone_before_its_batch_fails_only_its_own_events(member):
    staying = new_session(member, name="staying", mode="attached")
    leaving = new_session(member, name="leaving", mode="attached")
    items = [submission(leaving, tool_use(1)), submission(staying, tool_use(2))]
    Session.objects.filter(pk=leaving.pk).delete()

    outcomes = batch.write(items)

    assert isinstance(outcomes[0], IngestRefused) and outcomes[0].status == 404
    assert outcomes[1].seq == 1 and seqs_of(staying) == [1]


def test_concurrent_callers_share_the_writers_batches(attached, settings, monkeypatch):
    """With a linger, what arrives together commits together; each caller still gets its own
    seq, in one gap-free sequence."""
    settings.INGEST_BATCH_LINGER_MS = 300
    sizes: list[int] = []
    write = writer.write

    def counting(items):
        sizes.append(len(items))
        return write(items)

    monkeypatch.setattr(writer, "write", counting)
    start = threading.Barrier(8)

    def send(n: int) -> int:
        start.wait()
        return ingest(session=attached, payload=tool_use(n)).seq

    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(send, range(8)))

    assert sorted(seqs) == list(range(1, 9))
    assert seqs_of(attached) == list(range(1, 9))
    assert max(sizes) > 1, sizes  # at least one batch held several events
    assert sum(sizes) == 8


def test_a_caller_inside_a_transaction_writes_in_it_and_rolls_back_with_it(attached):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(session=attached, payload=tool_use(1))
        assert seqs_of(attached) == [1]  # visible in the caller's own transaction
        raise RuntimeError("the caller's work fails")
    assert seqs_of(attached) == []
    assert ingest(session=attached, payload=tool_use(1)).seq == 1


def test_stopping_the_writer_commits_what_was_submitted(attached):
    futures = [writer.submit(submission(attached, tool_use(n))) for n in range(5)]
    writer.stop()
    assert sorted(f.result(timeout=10).seq for f in futures) == [1, 2, 3, 4, 5]
    assert ingest(session=attached, payload=tool_use(9)).seq == 6  # a new thread takes over
