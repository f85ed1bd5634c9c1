"""Fixtures for alerting: local HTTP servers standing in for Slack, PagerDuty and a webhook
receiver (reached through the real clients and the base-URL settings production uses), a
real SMTP server (aiosmtpd), and helpers that drive the engine one step at a time."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from alerts import engine, services
from alerts.models import Channel, Rule
from sessions import services as session_services
from sessions.choices import SessionMode
from tests.conftest import new_session


@dataclass
class Received:
    path: str
    headers: dict
    raw: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.raw)


@dataclass
class FakeService:
    """An HTTP server that records each POST and answers with `answer(request)`: a (status,
    body) pair. `down` makes it answer 503 (a service that is down for a while)."""

    answer: Callable[[Received], tuple[int, dict]]
    received: list[Received] = field(default_factory=list)
    down: bool = False
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(self.path, dict(self.headers), self.rfile.read(length))
                if service.down:
                    status, body = 503, {"error": "down for maintenance"}
                else:
                    service.received.append(request)
                    status, body = service.answer(request)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeService]]:
    servers = []

    def start(answer) -> FakeService:
        service = FakeService(answer=answer)
        server = ThreadingHTTPServer(("127.0.0.1", 0), service.handler())
        service.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return service

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def slack_answer(request: Received) -> tuple[int, dict]:
    """Slack's chat.postMessage as its Web API answers it (form or JSON body)."""
    if request.headers.get("Authorization") != "Bearer xoxb-test-token":
        return 200, {"ok": False, "error": "invalid_auth"}
    return 200, {"ok": True, "channel": "C1", "ts": "1700000000.000100"}


@pytest.fixture
def slack(serve, settings) -> FakeService:
    service = serve(slack_answer)
    settings.SLACK_API_URL = f"{service.url}/api/"
    return service


@pytest.fixture
def pagerduty(serve, settings) -> FakeService:
    def answer(request):
        if request.json.get("routing_key") != "R0UTINGKEY-test":
            return 400, {"status": "invalid event", "message": "Event object is invalid"}
        return 202, {"status": "success", "dedup_key": request.json["dedup_key"]}

    service = serve(answer)
    settings.PAGERDUTY_EVENTS_URL = f"{service.url}/v2/enqueue"
    return service


@pytest.fixture
def webhook(serve, settings) -> FakeService:
    settings.ALERT_WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    return serve(lambda request: (200, {"ok": True}))


@pytest.fixture(autouse=True)
def alert_settings(settings):
    """The engine driven step by step by the tests: no background flush, no group wait
    unless a test sets one, and notifications carrying a dashboard link."""
    settings.ALERT_DISPATCH = "off"
    settings.ALERT_GROUP_WAIT_SECONDS = 0
    settings.PUBLIC_URL = "https://orchestrator.example.com"
    return settings


class Clock:
    """The engine's `now`, moved by the test (the engine takes it as an argument)."""

    def __init__(self) -> None:
        self.now: datetime = timezone.now()

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tick(clock) -> Callable[[], None]:
    """One run of the periodic job at the clock's time."""
    return lambda: engine.tick(now=clock.now)


def slack_channel(owner, **extra) -> Channel:
    return services.create_channel(
        actor=owner,
        organization=owner.organization,
        kind="slack",
        name=extra.pop("name", "ops-slack"),
        config={"channel": "#ops", "token": extra.pop("token", "xoxb-test-token")},
        **extra,
    )


def webhook_channel(owner, url: str, **extra) -> Channel:
    return services.create_channel(
        actor=owner,
        organization=owner.organization,
        kind="webhook",
        name=extra.pop("name", "hook"),
        config={"url": url, "secret": "webhook-secret-123"},
        **extra,
    )


def rule_of(owner, kind: str, channels=(), **fields) -> Rule:
    return services.create_rule(
        actor=owner,
        organization=owner.organization,
        name=fields.pop("name", kind),
        kind=kind,
        channels=[str(c.pk) for c in channels],
        **fields,
    )


def failed_session(user, name: str = "doomed", reason: str = "the CLI crashed"):
    """An attached session (nothing runs it) that ended in error."""
    session = new_session(user, name=name, mode=SessionMode.ATTACHED)
    return session_services.fail_session(session=session, reason=reason)
