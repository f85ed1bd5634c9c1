"""The WebSocket live view: who may open it, and that every event arrives exactly once
across the catch-up/live boundary, on the in-memory layer and on Redis."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from orchestrator.asgi import application
from sessions import services
from sessions.choices import SessionMode, SessionStatus
from sessions.live import feed as live
from sessions.models import Session
from tests.conftest import api_token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = b"http://127.0.0.1:8000"
# The handshake's Host: the server's own scheme and port are what the Origin must match.
HOST = (b"host", b"127.0.0.1:8000")


@pytest.fixture(autouse=True)
def memory_layer(settings):
    """A fresh in-memory layer per test (changing the setting drops the cached one)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def session(member) -> Session:
    """An attached session of the member's org with three recorded commands (seq 1-3)."""
    session = services.create_session(
        organization=member.organization,
        actor=member,
        name="watched",
        project_type="github",
        github_repo="acme/widgets",
        mode=SessionMode.ATTACHED,
    )
    for n in range(1, 4):
        record(session, n)
    return session


def record(session: Session, n: int):
    return services.record_command(
        session=session, tool="Bash", input={"command": f"echo {n}"}, result=str(n)
    )


@database_sync_to_async
def token_for(user) -> str:
    return api_token_for(user)


async def open_socket(
    session_id, *, token: str | None = None, after: int | None = None, headers=None
) -> tuple[WebsocketCommunicator, bool]:
    query = {k: v for k, v in {"token": token, "after": after}.items() if v is not None}
    communicator = WebsocketCommunicator(
        application,
        f"/ws/sessions/{session_id}/?{urlencode(query)}",
        headers=[(b"origin", ORIGIN), HOST] if headers is None else [*headers, HOST],
    )
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def receive_seqs(communicator: WebsocketCommunicator, count: int) -> list[int]:
    return [(await communicator.receive_json_from(timeout=5))["seq"] for _ in range(count)]


async def test_anonymous_is_refused(session):
    communicator, connected = await open_socket(session.pk)
    assert not connected


async def test_unknown_token_is_refused(session):
    communicator, connected = await open_socket(session.pk, token="not-a-token")
    assert not connected


async def test_outsider_is_refused(session, outsider):
    communicator, connected = await open_socket(session.pk, token=await token_for(outsider))
    assert not connected


async def test_unknown_session_is_refused(member):
    communicator, connected = await open_socket(uuid.uuid4(), token=await token_for(member))
    assert not connected


async def test_socket_from_another_site_is_refused(session, member):
    headers = [(b"origin", b"https://evil.example")]
    communicator, connected = await open_socket(
        session.pk, token=await token_for(member), headers=headers
    )
    assert not connected


async def test_bad_cursor_is_refused(session, member):
    communicator, connected = await open_socket(session.pk, token=await token_for(member), after=-1)
    assert not connected


async def test_member_gets_catch_up_after_cursor_then_live_events(session, member):
    communicator, connected = await open_socket(session.pk, token=await token_for(member), after=1)
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["kind"] == "log" and first["seq"] == 2 and first["result"] == "2"
    assert await receive_seqs(communicator, 1) == [3]

    await database_sync_to_async(record)(session, 4)  # commits, then publishes
    live_event = await communicator.receive_json_from(timeout=5)
    assert live_event["seq"] == 4 and live_event["input"] == {"command": "echo 4"}
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_session_cookie_authenticates_the_dashboard(session, viewer):
    client = Client()
    await database_sync_to_async(client.force_login)(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator, connected = await open_socket(
        session.pk, after=2, headers=[(b"origin", ORIGIN), (b"cookie", cookie)]
    )
    assert connected
    assert await receive_seqs(communicator, 1) == [3]
    await communicator.disconnect()


async def test_two_viewers_each_get_each_event_exactly_once(session, member, viewer):
    sockets = []
    for user in (member, viewer):
        communicator, connected = await open_socket(
            session.pk, token=await token_for(user), after=2
        )
        assert connected
        # The catch-up event proves the socket has joined the group.
        assert await receive_seqs(communicator, 1) == [3]
        sockets.append(communicator)

    for n in (4, 5, 6):
        await database_sync_to_async(record)(session, n)
    await database_sync_to_async(live.publish)(session.pk, {"kind": "status", "status": "idle"})

    for communicator in sockets:
        assert await receive_seqs(communicator, 3) == [4, 5, 6]
        status = await communicator.receive_json_from(timeout=5)
        assert status == {"kind": "status", "status": "idle"}
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()


async def test_event_committed_during_catch_up_is_delivered_once(session, member, monkeypatch):
    """The race the design is about: an event commits (and is pushed) after the socket joined
    the group but before the catch-up read. It is in both; the viewer sees it once."""
    read = live.events_after
    raced = []

    def read_after_a_commit(*args, **kwargs):
        if not raced:
            raced.append(record(session, 4))  # joined already, so this push is queued for us
        return read(*args, **kwargs)

    monkeypatch.setattr(live, "events_after", read_after_a_commit)
    communicator, connected = await open_socket(session.pk, token=await token_for(member), after=2)
    assert connected
    assert await receive_seqs(communicator, 2) == [3, 4]  # 4 from the catch-up read

    # A late re-push of something already delivered is dropped too; new events flow.
    await database_sync_to_async(live.publish)(session.pk, raced[0].as_event())
    await database_sync_to_async(record)(session, 5)
    assert await receive_seqs(communicator, 1) == [5]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_lost_push_is_filled_from_the_database(session, member, monkeypatch):
    communicator, connected = await open_socket(session.pk, token=await token_for(member), after=2)
    assert connected
    assert await receive_seqs(communicator, 1) == [3]

    publish = live.publish
    monkeypatch.setattr(live, "publish", lambda *args: None)  # seq 4's push is lost
    await database_sync_to_async(record)(session, 4)
    monkeypatch.setattr(live, "publish", publish)
    await database_sync_to_async(record)(session, 5)

    assert await receive_seqs(communicator, 2) == [4, 5]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_closing_the_socket_leaves_the_group(session, member):
    communicator, connected = await open_socket(session.pk, token=await token_for(member), after=2)
    assert connected
    assert await receive_seqs(communicator, 1) == [3]
    layer = get_channel_layer()
    assert len(layer.groups.get(live.group_name(session.pk), {})) == 1
    await communicator.disconnect()
    assert not layer.groups.get(live.group_name(session.pk))


async def test_status_change_reaches_the_viewer(session, member):
    communicator, connected = await open_socket(session.pk, token=await token_for(member), after=2)
    assert connected
    assert await receive_seqs(communicator, 1) == [3]
    await database_sync_to_async(services.stop_session)(
        session=session, actor=member, reason="enough"
    )
    event = await communicator.receive_json_from(timeout=5)
    assert event["kind"] == "status" and event["status"] == SessionStatus.STOPPED
    assert "seq" not in event
    await communicator.disconnect()


@pytest.mark.redis
async def test_live_events_reach_viewers_through_redis(session, member, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A prefix of its own: nothing left over from other runs reaches this test.
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": f"test-{uuid.uuid4().hex}"},
        }
    }
    sockets = []
    for _ in range(2):
        communicator, connected = await open_socket(
            session.pk, token=await token_for(member), after=2
        )
        assert connected
        assert await receive_seqs(communicator, 1) == [3]
        sockets.append(communicator)
    for n in (4, 5):
        await database_sync_to_async(record)(session, n)
    for communicator in sockets:
        assert await receive_seqs(communicator, 2) == [4, 5]
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
