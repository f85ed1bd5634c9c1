"""The jail's only ways out, served by the runner outside the jail for one turn.

Inside, the jail's init listens on loopback and carries each connection to one of these Unix
sockets:
- `model.sock`: a plain pipe to the model endpoint, when that endpoint is on this machine's
  loopback (the scripted model, a local gateway): the agent reaches it at the same URL.
- `egress.sock`: an HTTP CONNECT proxy (the agent gets HTTPS_PROXY) that opens a tunnel only
  to the model endpoint's host and AGENT_EGRESS_ALLOWED_HOSTS, and refuses everything else
  (this machine's loopback services, private addresses, the rest of the internet).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MODEL_SOCKET = "model.sock"
EGRESS_SOCKET = "egress.sock"
HEAD_LIMIT = 8192
BUFFER = 65536


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_endpoint(value: str, default_port: int = 443) -> Endpoint:
    host, _, port = value.strip().lower().rpartition(":")
    if not host or not port.isdigit():
        return Endpoint(value.strip().lower().strip("[]"), default_port)
    return Endpoint(host.strip("[]"), int(port))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(BUFFER):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()


async def _splice(
    inside: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    outside: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    try:
        await asyncio.gather(_pump(inside[0], outside[1]), _pump(outside[0], inside[1]))
    finally:
        for _, writer in (inside, outside):
            writer.close()


def model_pipe(target: Endpoint):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            outside = await asyncio.open_connection(target.host, target.port)
        except OSError as exc:
            logger.warning("agent model pipe to %s failed: %s", target, exc)
            writer.close()
            return
        await _splice((reader, writer), outside)

    return handle


def connect_proxy(allowed: frozenset[Endpoint]):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        method, _, rest = head.decode("latin-1").partition(" ")
        target = parse_endpoint(rest.split(" ", 1)[0])
        if method != "CONNECT" or target not in allowed:
            logger.info("agent egress refused: %s %s", method, target)
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        try:
            outside = await asyncio.open_connection(target.host, target.port)
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _splice((reader, writer), outside)

    return handle


def _tracked(handler, connections: set[asyncio.Task]):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        connections.add(task)
        try:
            await handler(reader, writer)
        finally:
            writer.close()
            connections.discard(task)

    return handle


@contextlib.asynccontextmanager
async def serving(
    sockets: Path, *, model: Endpoint | None, allowed: frozenset[Endpoint]
) -> AsyncIterator[None]:
    """Serve the turn's sockets in `sockets` until the block ends, then close every
    connection still open (Claude Code keeps its model connection alive to the end)."""
    connections: set[asyncio.Task] = set()
    servers = [
        await asyncio.start_unix_server(
            _tracked(connect_proxy(allowed), connections),
            path=str(sockets / EGRESS_SOCKET),
            limit=HEAD_LIMIT,
        )
    ]
    if model is not None:
        servers.append(
            await asyncio.start_unix_server(
                _tracked(model_pipe(model), connections), path=str(sockets / MODEL_SOCKET)
            )
        )
    try:
        yield
    finally:
        for server in servers:
            server.close()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
