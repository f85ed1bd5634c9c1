"""POST /api/hooks/ and GET /api/sessions/{id}/hook-config/."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from sessions import services
from sessions.choices import SessionMode
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
    response = post(attached.new_hook_token, captured()["PostToolUse"])
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "seq": 1, "duplicate": False}
    assert CommandLog.objects.get().tool == "Bash"


def test_replayed_event_id_is_acknowledged_as_duplicate(attached):
    token = attached.new_hook_token
    stop = captured()["Stop"]
    assert post(token, stop, HTTP_X_HOOK_EVENT_ID="ev-1").json()["duplicate"] is False
    again = post(token, stop, HTTP_X_HOOK_EVENT_ID="ev-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert HookEvent.objects.count() == 1


def test_pre_tool_use_answers_in_claude_code_format(attached, member):
    services.stop_session(session=attached, actor=member)
    answer = post(attached.new_hook_token, captured()["PreToolUse"]).json()
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_tool_complete_alias_is_post_tool_use(attached):
    payload = {k: v for k, v in captured()["PostToolUse"].items() if k != "hook_event_name"}
    response = post(attached.new_hook_token, payload, "/api/hooks/tool-complete")
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
    response = post(attached.new_hook_token, body)
    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert not HookEvent.objects.exists()


def test_oversized_payload_is_413(attached, settings):
    settings.HOOK_MAX_BODY_BYTES = 1000
    body = {**captured()["PostToolUse"], "tool_response": {"stdout": "x" * 5000}}
    response = post(attached.new_hook_token, body)
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
    token = attached.new_hook_token
    response = post(token[:-4] + "0000", captured()["Stop"])
    assert response.status_code == 401


def test_token_of_another_session_is_refused(attached, member):
    other = new_session(member, name="other", mode=SessionMode.ATTACHED)
    response = post(other.new_hook_token, captured()["Stop"], f"/api/hooks/?session={attached.pk}")
    assert response.status_code == 403
    assert not HookEvent.objects.exists()


def test_hook_config_shows_blocks_with_a_placeholder_not_the_token(api, member, attached):
    response = api(member).get(f"/api/sessions/{attached.pk}/hook-config/")
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == "" and "rotate" in body["note"]
    http_hook = body["http_settings"]["hooks"]["PostToolUse"][0]["hooks"][0]
    assert http_hook["headers"]["Authorization"] == "Bearer <hook token>"
    assert attached.new_hook_token not in json.dumps(body)
    assert post(attached.new_hook_token, captured()["Stop"]).status_code == 200


def test_rotation_gives_a_working_token_and_retires_the_old_one(api, member, attached):
    response = api(member).post(f"/api/sessions/{attached.pk}/hook-config/rotate/")
    assert response.status_code == 200
    body = response.json()
    token = body["token"]
    assert token and token != attached.new_hook_token and body["note"] == ""
    http_hook = body["http_settings"]["hooks"]["PostToolUse"][0]["hooks"][0]
    assert http_hook["url"].endswith("/api/hooks/")
    assert http_hook["headers"]["Authorization"] == f"Bearer {token}"
    command = body["command_settings"]["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert command.startswith("claude-orchestrator-hook ") and token in command
    assert post(attached.new_hook_token, captured()["Stop"]).status_code == 401
    assert post(token, captured()["Stop"]).status_code == 200


def test_rotation_is_for_admins_and_the_sessions_creator(api, member, owner, viewer, outsider, org):
    session = new_session(owner, name="owners", mode=SessionMode.ATTACHED)
    url = f"/api/sessions/{session.pk}/hook-config/rotate/"
    assert api(member).post(url).status_code == 403  # a user, but not its creator
    assert api(viewer).post(url).status_code == 403
    assert api(outsider).post(url).status_code == 404
    assert post(session.new_hook_token, captured()["Stop"]).status_code == 200  # unchanged
    assert api(owner).post(url).status_code == 200


def test_a_managed_session_refuses_hook_posts_and_has_no_token(api, member):
    session = new_session(member)
    assert session.hook_token_hash == "" and session.new_hook_token == ""
    forged = f"{session.pk.hex}.guessed"
    response = post(forged, captured()["PostToolUse"])
    assert response.status_code == 403 and "managed" in response.json()["detail"]
    assert not HookEvent.objects.exists()
    config = api(member).get(f"/api/sessions/{session.pk}/hook-config/").json()
    assert config["managed"] is True and "in-process" in config["note"]
    assert "http_settings" not in config
    rotate = api(member).post(f"/api/sessions/{session.pk}/hook-config/rotate/")
    assert rotate.status_code == 409


@pytest.mark.parametrize("ended", ["stopped", "error"])
def test_a_closed_sessions_token_records_nothing(api, member, attached, ended):
    token = attached.new_hook_token
    if ended == "stopped":
        services.stop_session(session=attached, actor=member)
    else:
        services.fail_session(session=attached, reason="broken")
    response = post(token, captured()["PostToolUse"])
    assert response.status_code == 403 and ended in response.json()["detail"]
    # Claude Code ignores a non-2xx body: a tool call is denied in its own format.
    answer = post(token, captured()["PreToolUse"])
    assert answer.status_code == 200
    assert answer.json()["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert not HookEvent.objects.exists() and not CommandLog.objects.exists()
    rotate = api(member).post(f"/api/sessions/{attached.pk}/hook-config/rotate/")
    assert rotate.status_code == 409


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
