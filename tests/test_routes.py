"""Every URL answers with a 4xx or its documented answer, never a 500: each route of the URL
configuration (the operations console aside, which is Django's own) with every method, with
and without a `.json` format suffix, as a member, a viewer and an anonymous client. And a
WebSocket to a path that is no live view is refused at the handshake, not crashed."""

from __future__ import annotations

import re
import uuid

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLResolver, get_resolver

from orchestrator.asgi import application
from sessions.choices import SessionMode
from tests.conftest import PASSWORD, new_session

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
# An SSE stream never ends: the test client would wait on it for ever (tests/sessions/live).
ENDLESS = re.compile(r"^/api/sessions/[0-9a-f-]{36}/stream$")


def routes() -> list[str]:
    """The project's route patterns as text, outside the operations console."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if not text.startswith("admin/"):
                    yield from walk(pattern.url_patterns, text)
            else:
                yield text

    return list(walk(get_resolver().url_patterns, ""))


def concrete(route: str, *, session_id: str, slug: str) -> str:
    """A real path for a route pattern: its parameters filled with existing objects."""
    values = {"pk": session_id, "session_id": session_id, "slug": slug, "path": "x.css"}
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values.get(m.group(1), "x"), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "x"), path)
    return "/" + path.replace("^", "").replace("$", "")


def suffixed(path: str) -> list[str]:
    base = path.rstrip("/")
    return [path, f"{base}.json", f"{base}.json/", f"{base}/.json"]


@pytest.fixture
def clients(member, viewer) -> dict[str, Client]:
    result = {"anonymous": Client(raise_request_exception=False)}
    for user in (member, viewer):
        client = Client(raise_request_exception=False)
        assert client.login(username=user.username, password=PASSWORD)
        result[user.username] = client
    return result


@pytest.mark.django_db
def test_no_route_answers_500_with_any_method_or_format_suffix(clients, member):
    session = new_session(member, mode=SessionMode.ATTACHED)
    paths = [
        concrete(route, session_id=str(session.pk), slug="acme")
        for route in routes()
        if not route.startswith("^static")
    ]
    assert f"/api/sessions/{session.pk}/logs/" in paths
    failures = []
    for url in sorted({variant for path in paths for variant in suffixed(path)}):
        for who, client in clients.items():
            for method in METHODS:
                if method == "get" and who != "anonymous" and ENDLESS.match(url):
                    continue
                response = getattr(client, method)(url, {}, content_type="application/json")
                if response.status_code >= 500:
                    failures.append((who, method, url, response.status_code))
    assert not failures, failures


@pytest.mark.django_db
def test_format_suffixed_session_routes_are_gone(api, member):
    session = new_session(member)
    for action in ("logs", "messages", "hook-config", "stop"):
        response = api(member).get(f"/api/sessions/{session.pk}/{action}.json")
        assert response.status_code == 404, (action, response.status_code)
    assert api(member).get("/api/users.json").status_code == 404
    # The documented routes still answer.
    assert api(member).get(f"/api/sessions/{session.pk}/logs/").status_code == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    ["/ws/nothing/", "/ws/sessions/not-a-uuid/", f"/ws/sessions/{uuid.uuid4()}/extra/", "/"],
)
async def test_unknown_websocket_path_is_refused_cleanly(path):
    communicator = WebsocketCommunicator(
        application,
        path,
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    await communicator.wait()
