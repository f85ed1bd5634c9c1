"""`GET /api/sessions/<uuid>/stream`: Server-Sent Events over a real ASGI server (daphne in a
subprocess on the test database). Events are recorded by hook posts to that same server, so
ingestion and the live push happen in the server process whatever the channel layer."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.test import AsyncClient

from orchestrator.asgi import application
from sessions import services
from sessions.choices import SessionMode
from sessions.live import feed as live
from sessions.models import Session
from tests.conftest import api_token_for

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(django_settings.BASE_DIR)
FIXTURE = BASE_DIR / "tests" / "fixtures" / "claude-code-2.1.331" / "hooks_pre_post_stop.jsonl"


def hook_payloads() -> dict[str, dict]:
    lines = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    payloads = {payload["hook_event_name"]: payload for payload in lines}
    # The capture has no SessionStart; Claude Code's carries the common fields and a source.
    common = {k: payloads["Stop"][k] for k in ("session_id", "transcript_path", "cwd")}
    payloads["SessionStart"] = common | {"hook_event_name": "SessionStart", "source": "startup"}
    return payloads


def database_url(database: dict) -> str:
    """The test database (not the configured one) as a DATABASE_URL for the server."""
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(database['NAME']).resolve()}"
    credentials = quote(database.get("USER") or "")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"])
    host = f"{database.get('HOST') or '127.0.0.1'}:{database.get('PORT') or 5432}"
    return f"postgres://{credentials}@{host}/{database['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(transactional_db, settings, tmp_path) -> Iterator[str]:
    """daphne serving orchestrator.asgi on the test database; its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "SECRET_KEY": settings.SECRET_KEY,  # hook tokens are derived from it
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "DATA_DIR": str(tmp_path / "server-data"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    log = (tmp_path / "daphne.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        + ["orchestrator.asgi:application"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, tmp_path / "daphne.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        # Shown by pytest only when the test failed: what the server saw.
        print((tmp_path / "daphne.log").read_text())


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"daphne exited early:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"daphne did not listen within {timeout}s:\n{log.read_text()}")


@pytest.fixture
def session(member) -> Session:
    return services.create_session(
        organization=member.organization,
        actor=member,
        name="streamed",
        project_type="github",
        github_repo="acme/widgets",
        mode=SessionMode.ATTACHED,
    )


@pytest.fixture
def auth(member) -> dict[str, str]:
    return {"Authorization": f"Token {api_token_for(member)}"}


class Hooks:
    """Posts Claude Code's own hook payloads to the server, as the hook client would."""

    def __init__(self, base_url: str, session: Session):
        self.url = f"{base_url}/api/hooks/"
        self.headers = {"Authorization": f"Bearer {session.new_hook_token}"}
        self.payloads = hook_payloads()

    def post(self, name: str, **changes) -> dict:
        payload = self.payloads[name] | changes
        response = httpx.post(self.url, json=payload, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def tool_call(self, n: int) -> int:
        return self.post("PostToolUse", tool_use_id=f"toolu_live_{n}")["seq"]


class EventReader:
    """Reads a text/event-stream into events: dicts of their fields, `data` parsed."""

    def __init__(self, response: httpx.Response):
        self.lines = response.iter_lines()

    def next(self) -> dict:
        fields: dict = {}
        for line in self.lines:
            if line == "":
                if "data" in fields:
                    return fields
                fields = {}  # a retry directive or a comment: not an event
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = json.loads(value) if name == "data" else value
        raise AssertionError("the stream ended")

    def take(self, count: int) -> list[dict]:
        return [self.next() for _ in range(count)]


def stream(base_url: str, session: Session, headers: dict, **params):
    return httpx.stream(
        "GET",
        f"{base_url}/api/sessions/{session.pk}/stream",
        params=params,
        headers=headers,
        timeout=httpx.Timeout(10),
    )


def test_stream_catches_up_then_goes_live_and_resumes_exactly(server, session, auth):
    hooks = Hooks(server, session)
    hooks.post("SessionStart")  # the session is running from here on
    assert [hooks.tool_call(n) for n in (1, 2, 3)] == [1, 2, 3]

    with stream(server, session, auth) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        reader = EventReader(response)
        seen = reader.take(3)  # the catch-up
        hooks.tool_call(4)
        hooks.post("Stop")  # the last assistant message (seq 5), then running -> idle
        seen += reader.take(3)

    assert [(e.get("id"), e["event"]) for e in seen] == [
        ("1", "log"),
        ("2", "log"),
        ("3", "log"),
        ("4", "log"),
        ("5", "message"),
        (None, "status"),  # no seq, so no id: it never moves the resume cursor
    ]
    assert [e["data"].get("seq") for e in seen] == [1, 2, 3, 4, 5, None]
    assert seen[3]["data"]["tool_use_id"] == "toolu_live_4"
    assert seen[4]["data"]["content"] == "Done: created hello.txt"
    assert seen[5]["data"]["status"] == "idle"

    # Reconnect as EventSource does, from the 2nd event id: exactly 3, 4, 5, then live 6.
    resume = auth | {"Last-Event-ID": seen[1]["id"]}
    with stream(server, session, resume, after=0) as response:  # the header wins over ?after=
        reader = EventReader(response)
        resumed = reader.take(3)
        assert hooks.tool_call(6) == 6
        resumed += reader.take(1)
    assert [e["id"] for e in resumed] == ["3", "4", "5", "6"]

    with stream(server, session, auth, after=5) as response:
        assert [e["id"] for e in EventReader(response).take(1)] == ["6"]


def test_stream_needs_a_viewer_of_the_session(server, session, outsider):
    outsider_auth = {"Authorization": f"Token {api_token_for(outsider)}"}
    url = f"{server}/api/sessions/{session.pk}/stream"
    anonymous = httpx.get(url, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Token"
    assert httpx.get(url, headers={"Authorization": "Token nope"}, timeout=10).status_code == 401
    assert httpx.get(url, headers=outsider_auth, timeout=10).status_code == 404


@pytest.mark.asyncio
async def test_quiet_stream_sends_heartbeats_and_leaves_the_group_when_the_client_goes(
    session, member, settings
):
    """Driven through the ASGI app itself, so Django's own disconnect handling runs."""
    settings.LIVE_HEARTBEAT_SECONDS = 0.05
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    key = await database_sync_to_async(api_token_for)(member)
    client_gone = asyncio.Event()
    requests = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict:
        if (message := next(requests, None)) is not None:
            return message
        await client_gone.wait()
        return {"type": "http.disconnect"}

    sent: asyncio.Queue[dict] = asyncio.Queue()
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/api/sessions/{session.pk}/stream",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Token {key}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    serving = asyncio.create_task(application(scope, receive, sent.put))
    start = await asyncio.wait_for(sent.get(), 5)
    assert start["status"] == 200
    bodies = [(await asyncio.wait_for(sent.get(), 5))["body"] for _ in range(3)]
    assert bodies == [b"retry: 3000\n\n", b": keep-alive\n\n", b": keep-alive\n\n"]
    groups = get_channel_layer().groups
    assert len(groups[live.group_name(session.pk)]) == 1

    client_gone.set()
    await asyncio.wait_for(serving, 5)
    assert not groups.get(live.group_name(session.pk))


@pytest.mark.asyncio
async def test_bad_last_event_id_is_a_400(session, member):
    client = AsyncClient()
    await client.aforce_login(member)
    response = await client.get(
        f"/api/sessions/{session.pk}/stream", headers={"Last-Event-ID": "soon"}
    )
    assert response.status_code == 400


def test_a_stream_whose_subscription_fails_ends_so_the_client_reconnects():
    from sessions.live.stream import _sse

    async def failing():
        yield {"kind": "log", "seq": 1}
        raise TimeoutError("Timeout reading from redis")

    async def collect():
        return [chunk async for chunk in _sse(failing(), heartbeat=5)]

    chunks = asyncio.run(asyncio.wait_for(collect(), timeout=5))
    assert chunks[-1].startswith(b"id: 1\n")  # the event, then a clean end: no hang
