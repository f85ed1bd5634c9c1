"""Ingestion, driven by hook payloads captured from the pinned Claude Code CLI (2.1.331)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from sessions import policies, services
from sessions.choices import SessionStatus
from sessions.ingest import IngestError, ingest
from sessions.live import feed as live
from sessions.models import CommandLog, HookEvent, SessionMessage
from tests.conftest import new_session
from tests.sessions.conftest import captured


@pytest.fixture
def hooks() -> dict[str, dict]:
    return captured()


pytestmark = pytest.mark.django_db


def test_post_tool_use_becomes_a_command_log(attached, hooks):
    result = ingest(session=attached, payload=hooks["PostToolUse"])
    log = CommandLog.objects.get(session=attached)
    assert (log.seq, result.seq) == (1, 1)
    assert log.tool == "Bash"
    assert log.input["command"] == "echo hello > hello.txt && ls"
    assert log.result == "hello.txt"
    assert (log.duration_ms, log.tool_use_id, log.is_error) == (422, "toolu_1", False)
    attached.refresh_from_db()
    assert (attached.tool_call_count, attached.last_seq) == (1, 1)
    assert attached.last_activity_at is not None


def test_a_replayed_event_is_recorded_once(attached, hooks):
    first = ingest(session=attached, payload=hooks["PostToolUse"], event_id="e1")
    again = ingest(session=attached, payload=hooks["PostToolUse"], event_id="e2")
    assert not first.duplicate and again.duplicate
    assert CommandLog.objects.filter(session=attached).count() == 1
    assert HookEvent.objects.filter(session=attached).count() == 1


def test_same_client_event_id_is_a_duplicate(attached, hooks):
    ingest(session=attached, payload=hooks["Stop"], event_id="same")
    assert ingest(session=attached, payload=hooks["Stop"], event_id="same").duplicate


def test_pre_tool_use_with_no_policy_defers_for_attached_sessions(attached, hooks):
    assert ingest(session=attached, payload=hooks["PreToolUse"]).response == {}
    assert not CommandLog.objects.exists()
    assert HookEvent.objects.get().hook_event_name == "PreToolUse"


def test_pre_tool_use_allows_explicitly_for_managed_sessions(member, hooks):
    session = new_session(member, name="m")
    answer = ingest(session=session, payload=hooks["PreToolUse"]).response
    assert answer["hookSpecificOutput"]["permissionDecision"] == "allow"


def test_a_denying_policy_answers_in_claude_codes_format(attached, hooks):
    policies.register_policy(
        "no-bash",
        lambda session, payload: (
            policies.Decision(allow=False, reason="no shell today")
            if payload.get("tool_name") == "Bash"
            else None
        ),
    )
    try:
        answer = ingest(session=attached, payload=hooks["PreToolUse"]).response
    finally:
        policies.unregister_policy("no-bash")
    assert answer == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "no shell today",
        }
    }
    denied = CommandLog.objects.get(session=attached)
    assert denied.is_error and "no shell today" in denied.result


def test_a_stopped_session_denies_further_tool_use(attached, hooks, member):
    services.stop_session(session=attached, actor=member)
    answer = ingest(session=attached, payload=hooks["PreToolUse"]).response
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "stopped" in answer["hookSpecificOutput"]["permissionDecisionReason"]


def test_stop_of_attached_session_records_the_answer_and_goes_idle(attached, hooks):
    ingest(
        session=attached,
        payload={**hooks["PreToolUse"], "hook_event_name": "SessionStart", "source": "startup"},
    )
    attached.refresh_from_db()
    assert attached.status == SessionStatus.RUNNING
    assert attached.agent_session_id == hooks["Stop"]["session_id"]
    ingest(session=attached, payload=hooks["Stop"])
    attached.refresh_from_db()
    assert attached.status == SessionStatus.IDLE
    message = SessionMessage.objects.get(session=attached)
    assert (message.direction, message.content) == ("assistant", "Done: created hello.txt")


def test_failure_and_prompt_and_notification(attached, hooks):
    base = {k: hooks["PreToolUse"][k] for k in ("session_id", "cwd")}
    ingest(
        session=attached,
        payload={**base, "hook_event_name": "UserPromptSubmit", "prompt": "make a file"},
    )
    ingest(
        session=attached,
        payload={
            **base,
            "hook_event_name": "PostToolUseFailure",
            "tool_name": "Bash",
            "tool_input": {"command": "false"},
            "tool_use_id": "toolu_2",
            "error": "exit code 1",
        },
    )
    ingest(
        session=attached,
        payload={
            **base,
            "hook_event_name": "Notification",
            "message": "Claude needs your permission",
        },
    )
    rows = [*SessionMessage.objects.filter(session=attached), *CommandLog.objects.all()]
    by_seq = {row.seq: row for row in rows}
    assert by_seq[1].content == "make a file" and by_seq[1].direction == "user"
    assert by_seq[2].is_error and by_seq[2].result == "exit code 1"
    assert by_seq[3].direction == "system"


@pytest.mark.parametrize("name", ["SubagentStop", "PreCompact", "SessionEnd", "BrandNewEvent"])
def test_other_and_unknown_events_are_stored_raw(attached, name):
    result = ingest(session=attached, payload={"hook_event_name": name, "extra": [1, 2]})
    assert not result.duplicate and result.seq is None
    assert HookEvent.objects.get().payload == {"hook_event_name": name, "extra": [1, 2]}


def test_large_tool_output_is_truncated_with_its_size(attached, hooks, settings):
    settings.HOOK_RESULT_MAX_BYTES = 100
    payload = {**hooks["PostToolUse"], "tool_response": {"stdout": "x" * 5000, "stderr": ""}}
    ingest(session=attached, payload=payload)
    log = CommandLog.objects.get()
    assert len(log.result) == 100 and log.result_bytes == 5000
    assert "tool_response" not in HookEvent.objects.get().payload


@pytest.mark.parametrize("payload", [[], "x", {}, {"hook_event_name": ""}, {"hook_event_name": 5}])
def test_malformed_payloads_are_refused(attached, payload):
    with pytest.raises(IngestError):
        ingest(session=attached, payload=payload)
    assert not HookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_each_event_is_published_once_after_commit(attached, hooks):
    record = sync_to_async(ingest)

    async def watch() -> None:
        # One event loop throughout: the Redis pub/sub layer keeps its channels per loop.
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(live.group_name(attached.pk), channel)
        await record(session=attached, payload=hooks["PostToolUse"])
        await record(session=attached, payload=hooks["PostToolUse"])  # a duplicate: nothing
        # One message per committed batch, its events in order.
        assert kinds(await receive(layer, channel)) == [
            ("log", 1, None),
            ("status", None, "running"),
        ]
        await record(session=attached, payload=hooks["Stop"])
        # An attached session's Stop ends its turn: the separator follows the turn's events.
        assert kinds(await receive(layer, channel)) == [
            ("message", 2, None),
            ("status", None, "idle"),
            ("turn", None, None),
        ]
        with pytest.raises(TimeoutError):
            await receive(layer, channel, timeout=0.2)

    async_to_sync(watch)()


async def receive(layer, channel: str, timeout: float = 2) -> list[dict]:
    """The events of the next live message."""
    return (await asyncio.wait_for(layer.receive(channel), timeout))["events"]


def kinds(events: list[dict]) -> list[tuple]:
    return [(e["kind"], e.get("seq"), e.get("status")) for e in events]


def test_a_hook_payload_never_sets_a_managed_sessions_resume_id(member, hooks):
    session = new_session(member)
    assert session.agent_session_id == ""
    ingest(session=session, payload={**hooks["PostToolUse"], "session_id": "someone-elses"})
    session.refresh_from_db()
    assert session.agent_session_id == ""  # only the runner's own turn result sets it


def test_an_attached_session_learns_its_claude_session_id_for_display(attached, hooks):
    ingest(session=attached, payload={**hooks["Stop"], "session_id": "claude-123"})
    attached.refresh_from_db()
    assert attached.agent_session_id == "claude-123"
