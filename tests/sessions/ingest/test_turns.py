"""The turn in progress, as the page sees it: a tool call that began (`tool_start`), the
turn's tokens as its model responses arrive (`usage`), and each ended turn's row and
separator (`turn`): duration, tokens and cost of that turn alone."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from sessions import selectors, services
from sessions.choices import SessionStatus
from sessions.ingest import ASSISTANT_MESSAGE, TURN_RESULT, ingest
from sessions.live import feed
from sessions.models import Session, SessionTurn
from tests.conftest import new_session
from tests.sessions.conftest import captured

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooks() -> dict[str, dict]:
    return captured()


@pytest.fixture
def published(monkeypatch, django_capture_on_commit_callbacks):
    """The live events each batch publishes, in order, once its transaction commits."""
    events: list[dict] = []
    monkeypatch.setattr(feed, "publish_many", lambda session_id, batch: events.extend(batch))

    def record(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return ingest(**kwargs)

    return events, record


@pytest.fixture
def running(member) -> Session:
    session = new_session(member, name="managed")
    return services.transition_session(session=session, to=SessionStatus.RUNNING)


def usage(message_id: str, tokens_in: int, tokens_out: int) -> dict:
    return {
        "hook_event_name": ASSISTANT_MESSAGE,
        "text": "",
        "message_id": message_id,
        "model": "claude-sonnet-4-5",
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
    }


def result(tokens_in: int, tokens_out: int, duration_ms: int, **extra) -> dict:
    return {
        "hook_event_name": TURN_RESULT,
        "subtype": "success",
        "num_turns": 2,
        "duration_ms": duration_ms,
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        **extra,
    }


def test_a_tool_call_that_begins_is_published_with_one_short_summary_key(
    attached, hooks, published
):
    events, record = published
    payload = {**hooks["PreToolUse"], "tool_input": {"command": "x" * 5000, "other": "y" * 9}}
    record(session=attached, payload=payload)
    start = next(event for event in events if event["kind"] == "tool_start")
    assert start["tool"] == "Bash" and start["tool_use_id"] == payload["tool_use_id"]
    # Only the key a running row shows, cut short: the hot path never dumps a whole input.
    assert start["input"] == {"command": "x" * 300}
    assert "seq" not in start


def test_turn_tokens_move_with_each_response_and_the_result_closes_the_turn(running, published):
    events, record = published
    record(session=running, payload=usage("msg_1", 100, 20), event_id="u1")
    record(session=running, payload=usage("msg_2", 50, 30), event_id="u2")
    running.refresh_from_db()
    assert (running.turn_input_tokens, running.turn_output_tokens) == (150, 50)
    assert [e for e in events if e["kind"] == "usage"][-1] == {
        "kind": "usage",
        "turn_input_tokens": 150,
        "turn_output_tokens": 50,
    }
    record(session=running, payload={"hook_event_name": ASSISTANT_MESSAGE, "text": "Done."})
    Session.objects.filter(pk=running.pk).update(cost_usd=Decimal("0.25"))
    running.refresh_from_db()
    record(session=running, payload=result(160, 55, 8200))

    turn = SessionTurn.objects.get(session=running)
    running.refresh_from_db()
    assert (turn.number, turn.last_seq, turn.duration_ms) == (1, running.last_seq, 8200)
    # The result's usage is the turn's own figure; the live count starts again from zero.
    assert (turn.input_tokens, turn.output_tokens) == (160, 55)
    assert (running.turn_input_tokens, running.turn_output_tokens) == (0, 0)
    assert turn.cost_usd == Decimal("0.25") and turn.organization_id == running.organization_id
    assert events[-1] == turn.as_event() and events[-1]["kind"] == "turn"


def test_each_turn_costs_what_it_added(running, published):
    _, record = published
    Session.objects.filter(pk=running.pk).update(cost_usd=Decimal("0.10"))
    record(session=running, payload=result(10, 1, 1000), event_id="r1")
    services.send_message(session=Session.objects.get(pk=running.pk), actor=None, content="more")
    Session.objects.filter(pk=running.pk).update(cost_usd=Decimal("0.35"))
    record(session=running, payload=result(20, 2, 2000, is_error=True), event_id="r2")
    first, second = SessionTurn.objects.filter(session=running).order_by("number")
    assert (first.number, first.cost_usd, first.is_error) == (1, Decimal("0.10"), False)
    assert (second.number, second.cost_usd, second.is_error) == (2, Decimal("0.25"), True)
    assert second.last_seq > first.last_seq


def test_an_attached_turn_ends_at_stop_with_its_telemetry_tokens(attached, hooks, published):
    _, record = published
    prompt = {**hooks["Stop"], "hook_event_name": "UserPromptSubmit", "prompt": "go"}
    record(session=attached, payload=prompt)
    record(
        session=attached,
        payload={
            "hook_event_name": "TelemetryUsage",
            "usage": {"input_tokens": 7, "output_tokens": 3},
        },
        event_id="t1",
    )
    record(session=attached, payload=hooks["PostToolUse"])
    record(session=attached, payload=hooks["Stop"])
    turn = SessionTurn.objects.get(session=attached)
    attached.refresh_from_db()
    assert (turn.input_tokens, turn.output_tokens) == (7, 3)
    assert turn.last_seq == attached.last_seq
    # Measured from the turn's first event (the prompt) to its Stop.
    assert turn.started_at <= turn.ended_at and turn.duration_ms is not None


def test_a_page_opened_mid_call_shows_the_calls_still_running(running, hooks, published):
    _, record = published
    first = {**hooks["PreToolUse"], "tool_use_id": "toolu_a"}
    second = {**hooks["PreToolUse"], "tool_use_id": "toolu_b"}
    record(session=running, payload=first)
    record(session=running, payload=second)
    record(session=running, payload={**hooks["PostToolUse"], "tool_use_id": "toolu_a"})
    shown = selectors.running_tools(Session.objects.get(pk=running.pk), [])
    assert [event["tool_use_id"] for event in shown] == ["toolu_b"]
    assert shown[0]["input"] == {"command": second["tool_input"]["command"]}
    record(session=running, payload=result(1, 1, 10))
    ended = Session.objects.get(pk=running.pk)
    assert selectors.running_tools(ended, selectors.turns_of(ended)) == []


def test_the_events_api_answers_the_turns_after_a_number(api, member, running, published):
    _, record = published
    record(session=running, payload=result(1, 1, 10), event_id="r1")
    url = f"/api/sessions/{running.pk}/events/"
    client = api(member)
    assert "turns" not in client.get(url).json()
    body = client.get(url, {"after": 0, "turns_after": 0}).json()
    assert [turn["number"] for turn in body["turns"]] == [1]
    assert client.get(url, {"turns_after": 1}).json()["turns"] == []
    assert "turns" not in client.get(url, {"turns_after": "-1"}).json()


def test_the_detail_page_puts_each_separator_after_its_turns_last_event(
    web, member, running, hooks, published
):
    _, record = published
    record(session=running, payload=hooks["PostToolUse"])
    record(session=running, payload=result(1234, 56, 2500), event_id="r1")
    services.send_message(session=Session.objects.get(pk=running.pk), actor=member, content="more")
    record(session=running, payload={**hooks["PostToolUse"], "tool_use_id": "toolu_2"})
    body = web(member).get(f"/sessions/{running.pk}/").content.decode()
    log = body[body.index('id="command-log"') : body.index('id="running-tools"')]
    order = re.findall(r'data-(seq|after-seq)="(\d+)"', log)
    assert order == [("seq", "1"), ("after-seq", "1"), ("seq", "3")]
    assert "1,234</span> in" in log and "2.5 s" in log
    config = json.loads(
        re.search(r'id="live-config" type="application/json">(.*?)</script>', body, re.S)[1]
    )
    assert config["turnsShown"] == 1 and config["runningTools"] == []
    assert config["turnStartedAt"] is not None  # the follow-up's turn runs
