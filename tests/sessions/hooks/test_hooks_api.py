"""POST /api/hooks/ and GET /api/sessions/{id}/hook-config/."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from sessions import services
from sessions.choices import SessionMode
from sessions.hooks.tokens import derive_token
from sessions.models import CommandLog, HookEvent
from tests.conftest import new_session
from tests.sessions.conftest import captured

pytestmark = pytest.mark.django_db


def post(token: str | None, body, path: str = "/api/hooks/", **headers):
    client = APIClient()
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


def test_post_tool_use_is_recorded(attached):
    response = post(derive_token(attached.pk), captured()["PostToolUse"])
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "seq": 1, "duplicate": False}
    assert CommandLog.objects.get().tool == "Bash"


def test_replayed_event_id_is_acknowledged_as_duplicate(attached):
    token = derive_token(attached.pk)
    stop = captured()["Stop"]
    assert post(token, stop, HTTP_X_HOOK_EVENT_ID="ev-1").json()["duplicate"] is False
    again = post(token, stop, HTTP_X_HOOK_EVENT_ID="ev-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert HookEvent.objects.count() == 1


def test_pre_tool_use_answers_in_claude_code_format(attached, member):
    services.stop_session(session=attached, actor=member)
    answer = post(derive_token(attached.pk), captured()["PreToolUse"]).json()
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_tool_complete_alias_is_post_tool_use(attached):
    payload = {k: v for k, v in captured()["PostToolUse"].items() if k != "hook_event_name"}
    response = post(derive_token(attached.pk), payload, "/api/hooks/tool-complete")
    assert response.status_code == 200, response.content
    assert HookEvent.objects.get().hook_event_name == "PostToolUse"


@pytest.mark.parametrize(
    "body, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"tool_name": "Bash"}, "hook_event_name"),
        ({"hook_event_name": ""}, "hook_event_name"),
        ({"hook_event_name": "TurnResult", "total_cost_usd": 0}, "reserved"),
    ],
)
def test_bad_payloads_are_400_and_write_nothing(attached, body, message):
    response = post(derive_token(attached.pk), body)
    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert not HookEvent.objects.exists()


def test_oversized_payload_is_413(attached, settings):
    settings.HOOK_MAX_BODY_BYTES = 1000
    body = {**captured()["PostToolUse"], "tool_response": {"stdout": "x" * 5000}}
    response = post(derive_token(attached.pk), body)
    assert response.status_code == 413
    assert not HookEvent.objects.exists()


@pytest.mark.parametrize(
    "token",
    [None, "garbage", "0" * 32 + ".abc", "not-hex.abc"],
)
def test_missing_or_wrong_token_is_401(attached, token):
    response = post(token, captured()["Stop"])
    assert response.status_code == 401
    assert not HookEvent.objects.exists()


def test_token_of_a_session_with_a_tampered_mac_is_401(attached):
    token = derive_token(attached.pk)
    response = post(token[:-4] + "0000", captured()["Stop"])
    assert response.status_code == 401


def test_token_of_another_session_is_refused(attached, member):
    other = new_session(member, name="other", mode=SessionMode.ATTACHED)
    response = post(
        derive_token(other.pk), captured()["Stop"], f"/api/hooks/?session={attached.pk}"
    )
    assert response.status_code == 403
    assert not HookEvent.objects.exists()


def test_hook_config_gives_a_working_token_and_settings(api, member, attached):
    response = api(member).get(f"/api/sessions/{attached.pk}/hook-config/")
    assert response.status_code == 200
    body = response.json()
    http_hook = body["http_settings"]["hooks"]["PostToolUse"][0]["hooks"][0]
    assert http_hook["type"] == "http"
    assert http_hook["url"].endswith("/api/hooks/")
    assert http_hook["headers"]["Authorization"] == f"Bearer {body['token']}"
    command = body["command_settings"]["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert command.startswith("claude-orchestrator-hook ") and body["token"] in command
    assert post(body["token"], captured()["Stop"]).status_code == 200


def test_hook_config_is_for_those_who_control_the_session(api, viewer, outsider, attached):
    assert api(viewer).get(f"/api/sessions/{attached.pk}/hook-config/").status_code == 403
    assert api(outsider).get(f"/api/sessions/{attached.pk}/hook-config/").status_code == 404


def test_creation_shows_the_token_once_and_stores_only_its_hash(api, member):
    response = api(member).post(
        "/api/sessions/",
        {"name": "a", "mode": "attached", "project_type": "github", "github_repo": "a/b"},
        format="json",
    )
    assert response.status_code == 201
    token = response.json()["hook_token"]
    session_id = response.json()["id"]
    assert "hook_token" not in api(member).get(f"/api/sessions/{session_id}/").json()
    from sessions.models import Session

    stored = Session.objects.get(pk=session_id).hook_token_hash
    assert token not in stored and len(stored) == 64
