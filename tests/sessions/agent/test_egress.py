"""The jail's ways out, served for real on Unix sockets: the CONNECT proxy tunnels only to
what is allowed, and the model pipe carries bytes both ways."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from sessions.agent.jail import egress


@pytest.fixture
def echo_server():
    """A TCP service on loopback that answers each line with itself, upper-cased."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            with client:
                while data := client.recv(1024):
                    client.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    yield egress.Endpoint("127.0.0.1", server.getsockname()[1])
    server.close()


async def _exchange(path, request: bytes, then: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    if then and answer.startswith(b"HTTP/1.1 200"):
        writer.write(then)
        await writer.drain()
        answer += await asyncio.wait_for(reader.readexactly(len(then)), 5)
    writer.close()
    return answer


def test_the_proxy_tunnels_only_to_allowed_endpoints(tmp_path, echo_server):
    async def scenario() -> list[bytes]:
        async with egress.serving(tmp_path, model=None, allowed=frozenset({echo_server})):
            path = tmp_path / egress.EGRESS_SOCKET
            allowed = f"CONNECT {echo_server} HTTP/1.1\r\nHost: {echo_server}\r\n\r\n"
            other = f"CONNECT 127.0.0.1:{echo_server.port + 1} HTTP/1.1\r\n\r\n"
            plain = f"GET http://{echo_server}/ HTTP/1.1\r\nHost: {echo_server}\r\n\r\n"
            return [
                await _exchange(path, allowed.encode(), then=b"hello\n"),
                await _exchange(path, other.encode()),
                await _exchange(path, plain.encode()),
            ]

    tunnelled, refused, not_connect = asyncio.run(scenario())
    assert tunnelled.startswith(b"HTTP/1.1 200") and tunnelled.endswith(b"HELLO\n")
    assert refused.startswith(b"HTTP/1.1 403")
    assert not_connect.startswith(b"HTTP/1.1 403")


def test_the_model_pipe_carries_bytes_both_ways(tmp_path, echo_server):
    async def scenario() -> bytes:
        async with egress.serving(tmp_path, model=echo_server, allowed=frozenset()):
            reader, writer = await asyncio.open_unix_connection(str(tmp_path / egress.MODEL_SOCKET))
            writer.write(b"ping\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.readexactly(5), 5)
            writer.close()
            return answer

    assert asyncio.run(scenario()) == b"PING\n"


def test_endpoints_are_read_with_a_default_port():
    assert egress.parse_endpoint("pypi.org") == egress.Endpoint("pypi.org", 443)
    assert egress.parse_endpoint("Git.Example.com:8443") == egress.Endpoint("git.example.com", 8443)
    assert egress.parse_endpoint("[::1]:80") == egress.Endpoint("::1", 80)
