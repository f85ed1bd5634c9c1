"""The WebSocket origin check: scheme, host and port must all match an allowed origin."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from orchestrator.asgi import application
from sessions.choices import SessionMode
from tests.conftest import new_session
from tests.sessions.live.test_live_websocket import token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "orchestrator.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = []


async def opens(member, origin: bytes | None, host: bytes = b"127.0.0.1:8000", **extra) -> bool:
    session = await database_sync_to_async(new_session)(member, mode=SessionMode.ATTACHED)
    headers = [(b"host", host)] + ([(b"origin", origin)] if origin is not None else [])
    headers += [(name.encode(), value.encode()) for name, value in extra.items()]
    communicator = WebsocketCommunicator(
        application,
        f"/ws/sessions/{session.pk}/?token={await token_for(member)}",
        headers=headers,
    )
    connected, _ = await communicator.connect(timeout=5)
    if connected:
        await communicator.disconnect()
    return connected


async def test_the_servers_own_origin_opens(member):
    assert await opens(member, b"http://127.0.0.1:8000")
    assert await opens(member, b"http://localhost:8000")  # another allowed host, same port


@pytest.mark.parametrize(
    "origin",
    [
        b"http://localhost:6666",  # wrong port
        b"http://127.0.0.1",  # wrong port (80)
        b"https://127.0.0.1:8000",  # wrong scheme
        b"ws://127.0.0.1:8000",  # not a web origin
        b"http://evil.example:8000",  # host not allowed
        b"null",
        b"http://[::1",
        b"",
    ],
)
async def test_another_scheme_port_or_host_is_refused(member, origin):
    assert not await opens(member, origin)


async def test_no_origin_is_refused(member):
    assert not await opens(member, None)


async def test_csrf_trusted_origins_open_with_their_own_scheme_and_port(member, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.corp.example"]
    assert await opens(member, b"https://app.example.com")
    assert await opens(member, b"https://app.example.com:443")
    assert await opens(member, b"https://team.corp.example")
    assert not await opens(member, b"http://app.example.com")  # wrong scheme
    assert not await opens(member, b"https://app.example.com:8443")  # wrong port
    assert not await opens(member, b"https://corp.example.evil")


async def test_behind_a_tls_proxy_the_forwarded_scheme_counts(member, settings):
    host = b"orchestrator.example.com"
    origin = b"https://orchestrator.example.com"
    # Without the setting the proxy's header is not believed: the socket is plain http.
    assert not await opens(member, origin, host=host, **{"x-forwarded-proto": "https"})
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert await opens(member, origin, host=host, **{"x-forwarded-proto": "https"})
    assert not await opens(member, origin, host=host)
    assert not await opens(
        member, b"http://orchestrator.example.com", host=host, **{"x-forwarded-proto": "https"}
    )
