"""Storage and rate limits on ingestion: tool input and the raw event are capped like tool
output (original sizes recorded), and one hook token may post only so many events."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.test import Client

from orchestrator.asgi import application
from sessions.choices import SessionMode
from sessions.models import CommandLog, HookEvent
from sessions.services import rotate_hook_token
from tests.conftest import client_for, new_session

pytestmark = pytest.mark.django_db


def post(session, payload: dict):
    token = session.new_hook_token
    return Client().post(
        "/api/hooks/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def tool_event(n: int = 1, **tool_input) -> dict:
    return {
        "hook_event_name": "PostToolUse",
        "tool_name": "Write",
        "tool_use_id": f"t-{n}",
        "tool_input": tool_input or {"file_path": "a.txt", "content": "hi"},
        "tool_response": {"stdout": "ok"},
    }


def test_a_big_tool_input_is_cut_to_the_limit_and_its_size_recorded(attached, member, settings):
    settings.HOOK_INPUT_MAX_BYTES = 4096
    content = "x" * (4 * 1024 * 1024)
    response = post(attached, tool_event(file_path="src/big.txt", content=content))
    assert response.status_code == 200, response.content

    log = CommandLog.objects.get(session=attached)
    assert log.input["file_path"] == "src/big.txt"  # what says what happened survives
    assert log.input["content"].startswith("xxx") and len(log.input["content"]) < 4096
    assert log.input_bytes > 4 * 1024 * 1024
    event = HookEvent.objects.get(session=attached)
    assert len(json.dumps(event.payload)) <= 4096
    assert event.payload["tool_input"]["file_path"] == "src/big.txt"
    assert event.payload_bytes > 4 * 1024 * 1024

    page = client_for(member).get(f"/api/sessions/{attached.pk}/logs/").json()["results"]
    assert page[0]["input_bytes"] == log.input_bytes
    assert len(page[0]["input"]["content"]) < 4096


def test_a_tool_input_of_many_small_items_keeps_a_preview(attached, settings):
    settings.HOOK_INPUT_MAX_BYTES = 2048
    response = post(attached, tool_event(items=list(range(20_000))))
    assert response.status_code == 200
    log = CommandLog.objects.get(session=attached)
    assert log.input["truncated"] is True
    assert log.input["preview"].startswith('{"items": [0, 1, 2')
    assert len(json.dumps(log.input)) <= 2048
    assert log.input_bytes > 20_000


def test_a_small_tool_input_is_kept_whole(attached):
    post(attached, tool_event(file_path="a.txt", content="hi"))
    log = CommandLog.objects.get(session=attached)
    assert log.input == {"file_path": "a.txt", "content": "hi"}
    assert log.input_bytes == len(json.dumps(log.input, separators=(",", ":")))


def test_hook_events_past_the_rate_limit_are_429_with_retry_after(attached, member, settings):
    settings.HOOK_RATE_LIMIT, settings.HOOK_RATE_WINDOW_SECONDS = 3, 60
    for n in range(3):
        assert post(attached, tool_event(n)).status_code == 200
    refused = post(attached, tool_event(99))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "More than 3 hook events in 60 s" in refused.json()["detail"]
    assert CommandLog.objects.filter(session=attached).count() == 3  # nothing written

    other = new_session(member, name="other", mode=SessionMode.ATTACHED)
    assert post(other, tool_event(1)).status_code == 200  # the limit is per token


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_lean_asgi_route_counts_the_same_events(attached, settings):
    settings.HOOK_RATE_LIMIT, settings.HOOK_RATE_WINDOW_SECONDS = 2, 60
    token = attached.new_hook_token

    async def post_asgi(n: int) -> dict:
        communicator = HttpCommunicator(
            application,
            "POST",
            "/api/hooks/",
            body=json.dumps(tool_event(n)).encode(),
            headers=[(b"authorization", f"Bearer {token}".encode())],
        )
        return await communicator.get_response(timeout=10)

    assert (await sync_to_async(post)(attached, tool_event(1))).status_code == 200
    assert (await post_asgi(2))["status"] == 200
    answer = await post_asgi(3)
    assert answer["status"] == 429
    assert any(name == b"retry-after" for name, _ in answer["headers"])


def test_a_rate_limit_of_zero_means_none(attached, settings):
    settings.HOOK_RATE_LIMIT = 0
    for n in range(5):
        assert post(attached, tool_event(n)).status_code == 200


def test_the_rate_limit_counts_on_the_session_row_whatever_token_posts(attached, member, settings):
    """The count lives on the row ingestion locks: every process shares it, and a new token
    (rotation) does not buy a new allowance."""
    settings.HOOK_RATE_LIMIT, settings.HOOK_RATE_WINDOW_SECONDS = 2, 60
    assert post(attached, tool_event(1)).status_code == 200
    attached.new_hook_token = rotate_hook_token(session=attached, actor=member)
    assert post(attached, tool_event(2)).status_code == 200
    refused = post(attached, tool_event(3))
    assert refused.status_code == 429, refused.content
    attached.refresh_from_db()
    assert attached.hook_window_count == 3
    assert CommandLog.objects.filter(session=attached).count() == 2
