"""A minimal asyncio WebSocket client (RFC 6455): enough to read a live view.

The virtualenv has no WebSocket client library, and a benchmark needs little: the opening
handshake, text frames (fragmented or not), answering pings, and a clean close.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeError(RuntimeError):
    pass


class ConnectionClosed(Exception):
    pass


class WebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def recv(self) -> str:
        """The next text (or binary, decoded) message; pings are answered on the way."""
        parts: list[bytes] = []
        while True:
            fin, opcode, payload = await self._frame()
            if opcode == OP_PING:
                await self._send(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                raise ConnectionClosed(_close_reason(payload))
            elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                parts.append(payload)
                if fin:
                    return b"".join(parts).decode()

    async def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            await self._send(OP_CLOSE, struct.pack("!H", 1000))
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()

    async def _frame(self) -> tuple[bool, int, bytes]:
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        mask = await self.reader.readexactly(4) if second & 0x80 else b""
        payload = await self.reader.readexactly(length)
        if mask:
            payload = _masked(payload, mask)
        return bool(first & 0x80), first & 0x0F, payload

    async def _send(self, opcode: int, payload: bytes) -> None:
        """Client frames are always masked (RFC 6455 5.3)."""
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        self.writer.write(header + mask + _masked(payload, mask))
        await self.writer.drain()


async def connect(host: str, port: int, path: str, origin: str) -> WebSocket:
    """Open `ws://host:port/path`; HandshakeError unless the server answers 101."""
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n"
        "\r\n"
    )
    writer.write(request.encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *header_lines = head.split("\r\n")
    if " 101 " not in f"{status_line} ":
        writer.close()
        raise HandshakeError(f"{path.split('?')[0]}: {status_line}")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines if line)
    }
    if headers.get("sec-websocket-accept") != _accept(key):
        writer.close()
        raise HandshakeError("bad Sec-WebSocket-Accept")
    return WebSocket(reader, writer)


def _accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def _masked(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )


def _close_reason(payload: bytes) -> str:
    if len(payload) >= 2:
        (code,) = struct.unpack("!H", payload[:2])
        return f"closed by the server ({code} {payload[2:].decode(errors='replace')})".strip()
    return "closed by the server"
