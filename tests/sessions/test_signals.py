"""Domain signals: each goes out once per committed event, after the commit, and never for
an event that rolled back; a receiver that raises harms no one else."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.db import connection, transaction

from sessions import services, signals
from sessions.choices import SessionMode, SessionStatus
from sessions.ingest import TURN_RESULT, ingest
from sessions.models import CommandLog, Session
from tests.conftest import new_session
from tests.sessions.conftest import captured

pytestmark = pytest.mark.django_db(transaction=True)

SIGNALS = {
    "session_created": signals.session_created,
    "session_status_changed": signals.session_status_changed,
    "tool_use_recorded": signals.tool_use_recorded,
    "message_recorded": signals.message_recorded,
    "turn_finished": signals.turn_finished,
}


class Received(list):
    def named(self, name: str) -> list[dict]:
        return [kwargs for signal, kwargs in self if signal == name]


@pytest.fixture
def received(monkeypatch):
    """Every domain signal sent, with its arguments and whether a transaction was open."""
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)  # no agent runs
    got = Received()
    receivers = {}
    for name, signal in SIGNALS.items():

        def receiver(sender, _name=name, **kwargs):
            assert sender is Session
            kwargs["in_transaction"] = connection.in_atomic_block
            got.append((_name, kwargs))

        receivers[name] = receiver
        signal.connect(receiver, weak=False)
    yield got
    for name, signal in SIGNALS.items():
        signal.disconnect(receivers[name])


class RolledBack(Exception):
    pass


def rolled_back(action) -> None:
    with pytest.raises(RolledBack), transaction.atomic():
        action()
        raise RolledBack


def attached_session(member) -> Session:
    return new_session(member, name="attached", mode=SessionMode.ATTACHED)


def turn_result(**extra) -> dict:
    return {
        "hook_event_name": TURN_RESULT,
        "subtype": "success",
        "is_error": False,
        "num_turns": 2,
        "duration_ms": 1500,
        "total_cost_usd": 0.0123,
        "usage": {"input_tokens": 100, "output_tokens": 40},
        **extra,
    }


def test_session_created_once_after_commit(received, member):
    session = new_session(member)
    [sent] = received.named("session_created")
    assert sent["session"].pk == session.pk
    assert sent["in_transaction"] is False


def test_session_created_not_sent_for_a_rolled_back_creation(received, member):
    rolled_back(lambda: new_session(member))
    assert not Session.objects.exists()
    assert received == []


def test_status_change_carries_old_new_and_reason(received, member):
    session = attached_session(member)
    services.stop_session(session=session, actor=member, reason="enough")
    [sent] = received.named("session_status_changed")
    assert (sent["old"], sent["new"], sent["reason"]) == ("pending", "stopped", "enough")
    assert sent["in_transaction"] is False


def test_status_change_not_sent_when_rolled_back(received, member):
    session = attached_session(member)
    rolled_back(lambda: services.stop_session(session=session, actor=member, reason="x"))
    assert received.named("session_status_changed") == []
    session.refresh_from_db()
    assert session.status == SessionStatus.PENDING


def test_a_hook_event_sends_tool_use_and_status_once(received, member):
    session = attached_session(member)
    post = captured()["PostToolUse"]
    ingest(session=session, payload=post)
    ingest(session=session, payload=post)  # a replay is a duplicate: no second signal
    [sent] = received.named("tool_use_recorded")
    assert sent["command_log"] == CommandLog.objects.get(session=session)
    assert sent["command_log"].tool == "Bash"
    assert sent["in_transaction"] is False
    [moved] = received.named("session_status_changed")
    assert (moved["old"], moved["new"]) == ("pending", "running")


def test_signals_wait_for_the_outer_transaction(received, member):
    session = attached_session(member)
    with transaction.atomic():
        ingest(session=session, payload=captured()["PostToolUse"])
        assert received.named("tool_use_recorded") == []
    assert len(received.named("tool_use_recorded")) == 1


def test_tool_use_not_sent_for_a_rolled_back_event(received, member):
    session = attached_session(member)
    rolled_back(lambda: ingest(session=session, payload=captured()["PostToolUse"]))
    assert received.named("tool_use_recorded") == []
    assert not CommandLog.objects.exists()


def test_message_recorded_once_after_commit(received, member):
    session = attached_session(member)
    ingest(session=session, payload=captured()["Stop"])
    [sent] = received.named("message_recorded")
    assert sent["message"].direction == "assistant"
    assert sent["message"].content
    assert sent["in_transaction"] is False


def test_message_recorded_not_sent_when_rolled_back(received, member):
    session = attached_session(member)
    rolled_back(lambda: ingest(session=session, payload=captured()["Stop"]))
    assert received.named("message_recorded") == []


def test_turn_finished_carries_the_result(received, member):
    session = new_session(member)
    session = services.transition_session(session=session, to=SessionStatus.RUNNING)
    ingest(session=session, payload=turn_result())
    [sent] = received.named("turn_finished")
    assert (sent["subtype"], sent["is_error"], sent["num_turns"]) == ("success", False, 2)
    assert (sent["input_tokens"], sent["output_tokens"]) == (100, 40)
    assert str(sent["cost_usd"]) == "0.0123"
    assert sent["duration_ms"] == 1500
    assert sent["in_transaction"] is False
    assert received.named("session_status_changed")[-1]["new"] == "completed"


def test_turn_finished_not_sent_when_rolled_back(received, member):
    session = new_session(member)
    session = services.transition_session(session=session, to=SessionStatus.RUNNING)
    rolled_back(lambda: ingest(session=session, payload=turn_result()))
    assert received.named("turn_finished") == []
    session.refresh_from_db()
    assert session.status == SessionStatus.RUNNING


def test_a_receiver_that_raises_is_logged_and_harms_no_one(received, member, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("a feature's bug")

    signals.tool_use_recorded.connect(broken, weak=False, dispatch_uid=str(uuid.uuid4()))
    try:
        session = attached_session(member)
        with caplog.at_level(logging.ERROR, logger="sessions.signals"):
            result = ingest(session=session, payload=captured()["PostToolUse"])
    finally:
        signals.tool_use_recorded.disconnect(broken)
    assert result.seq == 1 and CommandLog.objects.filter(session=session).count() == 1
    assert len(received.named("tool_use_recorded")) == 1  # the other receiver still ran
    assert "a feature's bug" in caplog.text
