"""A corpus of hostile values thrown at every edge: API bodies and query strings, the hook
endpoint (the DRF view and the lean ASGI route), the dashboard forms and the WebSocket. No
answer is a 500, a refused request writes nothing, and every read keeps working after each.
Rows stored before these rules (with values they now refuse) still read back."""

from __future__ import annotations

import json

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.db import connection
from django.test import Client

from orchestrator.asgi import application
from sessions.choices import SessionMode
from sessions.models import CommandLog, HookEvent, Session, SessionMessage
from tenants.models import IdempotencyKey, Organization, User
from tests.conftest import PASSWORD, client_for, new_session

# JSON text of values Python's json module takes but no database or browser should get.
HOSTILE = {
    "lone low surrogate": r'"a\udc00b"',
    "lone high surrogate": r'"\ud800"',
    "NUL": r'"a\u0000b"',
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e400 (infinite)": "1e400",
    "integer over 64 bits": "123456789012345678901234567890",
    "5000-digit integer": "9" * 5000,
    "nested 65 deep": "[" * 65 + "]" * 65,
    "nested 5000 deep": "[" * 5000 + "]" * 5000,
    "NUL in a key": r'{"\u0000": 1}',
    "surrogate in a key": r'{"\udfff": 1}',
}
# Whole bodies that are not JSON objects of storable values.
HOSTILE_BODIES = {
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "nested 5000 deep": b"[" * 5000 + b"]" * 5000,
    "NaN body": b"NaN",
    "not an object": b"[1, 2]",
}

MODELS = (Session, SessionMessage, CommandLog, HookEvent, Organization, User, IdempotencyKey)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def body_with(fields: dict, field: str, raw_value: str) -> bytes:
    """A JSON object with `fields`, where `field` holds the raw JSON text `raw_value`."""
    others = {k: v for k, v in fields.items() if k != field}
    text = json.dumps(others)[:-1]
    sep = ", " if others else ""
    return f"{text}{sep}{json.dumps(field)}: {raw_value}}}".encode()


def nested_body_with(fields: dict, field: str, key: str, raw_value: str) -> bytes:
    """`field` is an object whose `key` holds the raw value (metadata, settings)."""
    return body_with(fields, field, "{" + json.dumps(key) + ": " + raw_value + "}")


@pytest.fixture
def attached(member) -> Session:
    session = new_session(member, name="watched", mode=SessionMode.ATTACHED)
    post_hook(
        session,
        json.dumps(
            {
                "hook_event_name": "PostToolUse",
                "tool_name": "Bash",
                "tool_use_id": "t-ok",
                "tool_input": {"command": "ls"},
                "tool_response": {"stdout": "fine"},
            }
        ).encode(),
    )
    return session


def post_hook(session: Session, body: bytes, path: str = "/api/hooks/"):
    token = session.new_hook_token
    return Client().post(
        path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def reads_work(user: User, session: Session) -> None:
    """Everything that lists or shows the session still answers, and answers JSON."""
    api = client_for(user)
    for path in (
        "/api/sessions/",
        f"/api/sessions/{session.pk}/",
        f"/api/sessions/{session.pk}/logs/",
        f"/api/sessions/{session.pk}/messages/",
        f"/api/sessions/{session.pk}/events/",
        f"/api/organizations/{user.organization.slug}/",
    ):
        response = api.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        json.loads(response.content)  # valid JSON: no NaN, no unpaired surrogate
    web = Client()
    assert web.login(username=user.username, password=PASSWORD)
    for path in ("/", f"/sessions/{session.pk}/"):
        response = web.get(path)
        assert response.status_code == 200, path
        response.content.decode()  # valid UTF-8


def assert_refused(response, *names: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    text = response.content.decode()
    assert any(name in text for name in names), (names, text[:500])


# --- API bodies ---------------------------------------------------------------------------


SESSION = {"name": "s", "project_type": "github", "github_repo": "acme/widgets"}


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOSTILE)
@pytest.mark.parametrize("field", ["name", "initial_prompt", "github_repo", "git_ref", "metadata"])
def test_session_create_refuses_hostile_values(member, attached, label, field):
    before = counts()
    body = (
        nested_body_with(SESSION, field, "k", HOSTILE[label])
        if field == "metadata"
        else body_with(SESSION, field, HOSTILE[label])
    )
    response = client_for(member).post(
        "/api/sessions/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert_refused(response, field, "nested", "JSON parse error", "non_field_errors")
    assert counts() == before
    reads_work(member, attached)


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOSTILE)
@pytest.mark.parametrize("field", ["name", "metadata"])
def test_session_patch_refuses_hostile_values(member, attached, label, field):
    body = (
        nested_body_with({}, field, "k", HOSTILE[label])
        if field == "metadata"
        else body_with({}, field, HOSTILE[label])
    )
    response = client_for(member).patch(
        f"/api/sessions/{attached.pk}/", body, content_type="application/json"
    )
    assert_refused(response, field, "nested", "JSON parse error", "non_field_errors")
    attached.refresh_from_db()
    assert (attached.name, attached.metadata) == ("watched", {})
    reads_work(member, attached)


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOSTILE)
@pytest.mark.parametrize(
    ("path", "field"),
    [("stop/", "reason"), ("messages/", "content")],
)
def test_session_actions_refuse_hostile_values(member, attached, label, path, field):
    before = counts()
    response = client_for(member).post(
        f"/api/sessions/{attached.pk}/{path}",
        body_with({}, field, HOSTILE[label]),
        content_type="application/json",
    )
    assert_refused(response, field, "nested", "JSON parse error", "non_field_errors")
    assert counts() == before
    reads_work(member, attached)


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOSTILE)
@pytest.mark.parametrize("field", ["name", "slug", "settings"])
def test_organization_create_refuses_hostile_values(superuser, member, attached, label, field):
    before = counts()
    fields = {"name": "Initech", "slug": "initech"}
    body = (
        nested_body_with(fields, field, "k", HOSTILE[label])
        if field == "settings"
        else body_with(fields, field, HOSTILE[label])
    )
    response = client_for(superuser).post(
        "/api/organizations/", body, content_type="application/json"
    )
    assert_refused(response, field, "nested", "JSON parse error", "non_field_errors")
    assert counts() == before
    reads_work(member, attached)


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOSTILE)
@pytest.mark.parametrize("field", ["username", "password", "email"])
def test_user_create_and_login_refuse_hostile_values(owner, member, attached, label, field):
    before = counts()
    fields = {"username": "newcomer", "password": "a-long-password-1", "email": "n@example.com"}
    response = client_for(owner).post(
        "/api/organizations/acme/users/",
        body_with(fields, field, HOSTILE[label]),
        content_type="application/json",
    )
    assert_refused(response, field, "nested", "JSON parse error", "non_field_errors")
    if field != "email":
        login = Client().post(
            "/api/auth/token/",
            body_with({"username": "member", "password": PASSWORD}, field, HOSTILE[label]),
            content_type="application/json",
        )
        assert_refused(login, field, "nested", "JSON parse error", "non_field_errors")
    assert counts() == before
    reads_work(member, attached)


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOSTILE_BODIES)
@pytest.mark.parametrize(
    "path", ["/api/sessions/", "/api/organizations/", "/api/auth/token/", "STOP", "PATCH"]
)
def test_hostile_whole_bodies_are_400(superuser, member, attached, label, path):
    before = counts()
    user = superuser if path == "/api/organizations/" else member
    client = client_for(user) if path != "/api/auth/token/" else Client()
    send = client.post
    if path == "STOP":
        path = f"/api/sessions/{attached.pk}/stop/"
    elif path == "PATCH":
        path, send = f"/api/sessions/{attached.pk}/", client.patch
    response = send(path, HOSTILE_BODIES[label], content_type="application/json")
    assert response.status_code == 400, (path, response.content[:300])
    assert counts() == before
    reads_work(member, attached)


# --- query strings ------------------------------------------------------------------------


QUERIES = [
    "after=99999999999999999999999",
    "after=9223372036854775808",
    "after=-1",
    "after=1e400",
    "after=NaN",
    "after=%00",
    "limit=%00",
    "limit=99999999999999999999",
    "status=%00",
    "status=%ED%B0%80",
    "created_by=%00",
    "created_by=%ED%B0%80",
    "project_type=" + "x" * 5000,
    "page=99999999999999999999999",
    "page=%00",
    "id=%00",
]


@pytest.mark.django_db
@pytest.mark.parametrize("query", QUERIES)
def test_hostile_query_strings_are_never_a_500(member, attached, query):
    api = client_for(member)
    web = Client(raise_request_exception=False)
    assert web.login(username="member", password=PASSWORD)
    for path in (
        "/api/sessions/",
        f"/api/sessions/{attached.pk}/logs/",
        f"/api/sessions/{attached.pk}/messages/",
        f"/api/sessions/{attached.pk}/events/",
    ):
        response = api.get(f"{path}?{query}")
        assert response.status_code < 500, (path, query, response.status_code)
    for path in ("/", "/sessions/statuses/", f"/sessions/{attached.pk}/"):
        assert web.get(f"{path}?{query}").status_code < 500, (path, query)
    reads_work(member, attached)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cursor", ["99999999999999999999999", "9223372036854775808", "1e400"])
def test_hostile_stream_cursors_are_400(member, attached, cursor):
    api = client_for(member)
    response = api.get(f"/api/sessions/{attached.pk}/stream?after={cursor}")
    assert response.status_code == 400
    response = api.get(f"/api/sessions/{attached.pk}/stream", HTTP_LAST_EVENT_ID=cursor)
    assert response.status_code == 400


# --- the hook endpoint --------------------------------------------------------------------

HOOK = {
    "hook_event_name": "PostToolUse",
    "session_id": "claude-1",
    "tool_name": "Bash",
    "tool_use_id": "t-hostile",
    "tool_input": {"command": "ls"},
    "tool_response": {"stdout": "ok"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOSTILE)
@pytest.mark.parametrize(
    "field", ["tool_input", "tool_response", "tool_name", "hook_event_name", "session_id"]
)
def test_hook_posts_refuse_hostile_values(member, attached, label, field):
    before = counts()
    response = post_hook(attached, body_with(HOOK, field, HOSTILE[label]))
    assert response.status_code == 400, response.content[:300]
    detail = response.json()["detail"]
    assert field in detail or "nested" in detail or "not valid JSON" in detail, detail
    assert counts() == before
    reads_work(member, attached)


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["1e308", "-5", "2147483648", "NaN", "1e400"])
def test_hook_duration_outside_its_column_is_refused(member, attached, value):
    before = counts()
    response = post_hook(attached, body_with(HOOK, "duration_ms", value))
    assert response.status_code == 400, response.content
    assert counts() == before
    reads_work(member, attached)


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOSTILE_BODIES)
def test_hostile_hook_bodies_are_400(member, attached, label):
    before = counts()
    for path in ("/api/hooks/", "/api/hooks/tool-complete"):
        response = post_hook(attached, HOSTILE_BODIES[label], path)
        assert response.status_code == 400, (path, response.content[:300])
    assert counts() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("label", ["lone low surrogate", "NUL", "NaN", "nested 5000 deep"])
async def test_the_lean_asgi_hook_route_refuses_hostile_values(attached, label):
    token = attached.new_hook_token
    communicator = HttpCommunicator(
        application,
        "POST",
        "/api/hooks/",
        body=body_with(HOOK, "tool_input", HOSTILE[label]),
        headers=[(b"authorization", f"Bearer {token}".encode())],
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 400, response["body"][:300]


# --- dashboard forms ----------------------------------------------------------------------

FORM_VALUES = ["a\x00b", "\x00", "x" * 100_001, "\udc00".encode("utf-8", "surrogatepass")]


@pytest.mark.django_db
@pytest.mark.parametrize("value", FORM_VALUES, ids=["nul", "only-nul", "too-long", "surrogate"])
@pytest.mark.parametrize("field", ["name", "github_repo", "git_ref", "initial_prompt"])
def test_new_session_form_refuses_hostile_values(member, attached, value, field):
    web = Client()
    assert web.login(username="member", password=PASSWORD)
    before = counts()
    data = {"name": "s", "project_type": "github", "github_repo": "acme/w", "mode": "managed"}
    data[field] = value
    response = web.post("/sessions/new/", data)
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code == 302:  # a mended value (the surrogate arrives as U+FFFD)
        created = Session.objects.exclude(pk=attached.pk).get()
        reads_work(member, created)
    else:
        assert counts() == before
    reads_work(member, attached)


@pytest.mark.django_db
@pytest.mark.parametrize("value", FORM_VALUES, ids=["nul", "only-nul", "too-long", "surrogate"])
def test_follow_up_and_stop_forms_refuse_hostile_values(member, value):
    session = new_session(member, name="managed")
    Session.objects.filter(pk=session.pk).update(status="idle")
    web = Client()
    assert web.login(username="member", password=PASSWORD)
    before = counts()
    response = web.post(f"/sessions/{session.pk}/messages/", {"content": value})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert counts() == before
    response = web.post(f"/sessions/{session.pk}/stop/", {"reason": value})
    # A reason the form refuses is a 400 that stops nothing; a mended one stops.
    assert response.status_code in (302, 400), response.status_code
    session.refresh_from_db()
    assert (session.status == "stopped") == (response.status_code == 302)
    reads_work(member, session)


# --- WebSocket frames ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_websocket_frames_get_an_error_frame_and_the_socket_lives(attached, member):
    from tests.sessions.live.test_live_websocket import token_for

    token = await token_for(member)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/sessions/{attached.pk}/?token={token}",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["seq"] == 1
    frames = [*(f'{{"k": {raw}}}' for raw in HOSTILE.values()), "not json", '{"ok": 1}']
    for frame in frames:
        await communicator.send_to(text_data=frame)
        answer = await communicator.receive_json_from(timeout=5)
        assert answer["kind"] == "error" and answer["detail"], frame
    await communicator.send_to(bytes_data=b"\x00\xff")
    assert (await communicator.receive_json_from(timeout=5))["kind"] == "error"
    await communicator.disconnect()


# --- rows stored before these rules ---------------------------------------------------------


def store_raw(model, pk, column: str, raw_json: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {model._meta.db_table} SET {column} = %s WHERE id = %s", [raw_json, pk]
        )


DEEP = "[" * 2000 + "]" * 2000
# SQLite keeps JSON as text and holds all of these; PostgreSQL's jsonb refuses surrogates.
STORED = {
    "surrogate": r'{"k": "\udc00", "list": ["\ud800"]}',
    # Valid JSON text (SQLite checks), read by Python as infinity.
    "1e999": '{"n": 1e999, "m": [-1e999]}',
    "deep": DEEP,
    "nested 300": '{"k": ' + "[" * 300 + "]" * 300 + "}",
}


@pytest.mark.django_db
@pytest.mark.parametrize("label", STORED)
def test_rows_stored_with_hostile_values_still_read(member, attached, superuser, label):
    if connection.vendor == "postgresql" and label == "surrogate":
        pytest.skip("PostgreSQL's jsonb never held these")
    raw = STORED[label]
    log = CommandLog.objects.get(session=attached)
    store_raw(CommandLog, log.pk, "input", raw)
    store_raw(
        Session, attached.pk.hex if connection.vendor == "sqlite" else attached.pk, "metadata", raw
    )
    event = HookEvent.objects.filter(session=attached).first()
    store_raw(HookEvent, event.pk, "payload", raw)
    store_raw(
        Organization,
        member.organization.pk.hex if connection.vendor == "sqlite" else member.organization.pk,
        "settings",
        raw,
    )
    assert Session.objects.get(pk=attached.pk).metadata != {}  # the raw value is there
    reads_work(member, attached)
    console = Client()
    console.force_login(superuser)
    for path in (
        f"/admin/agent_sessions/session/{attached.pk}/change/",
        f"/admin/agent_sessions/commandlog/{log.pk}/change/",
        f"/admin/agent_sessions/hookevent/{event.pk}/change/",
        f"/admin/tenants/organization/{member.organization.pk}/change/",
    ):
        assert console.get(path).status_code == 200, path


# --- the operations console -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "metadata",
    [
        r'{"k": "\udc00"}',
        r'{"k": "\u0000"}',
        '{"k": NaN}',
        '{"k": 1e400}',
        "[" * 5000 + "]" * 5000,
        '{"permissionMode": "yolo"}',
        '{"maxTurns": -5}',
    ],
)
def test_console_refuses_hostile_metadata_as_a_form_error(superuser, member, metadata):
    from tests.test_admin_and_schema import EMPTY_INLINES

    session = new_session(member, name="s")
    console = Client()
    console.force_login(superuser)
    url = f"/admin/agent_sessions/session/{session.pk}/change/"
    response = console.post(url, {"name": "renamed", "metadata": metadata, **EMPTY_INLINES})
    assert response.status_code == 200  # the form again, with the error
    assert b"errorlist" in response.content
    session.refresh_from_db()
    assert (session.name, session.metadata) == ("s", {})
