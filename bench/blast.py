"""The hook load generator's engine: `python -m bench.blast`, one process, one event loop
(uvloop when installed), one keep-alive connection per sender, raw HTTP/1.1.

A threaded `http.client` generator spent more CPU than the server it measured once the
server got fast (the GIL, a thread switch per request); this one costs tens of microseconds
per request, so at thousands of events a second the figures are the server's. It prints one
JSON object: latencies (seconds, of 200 answers), errors, the first error, its own CPU."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time

from bench.loadgen import post_tool_use, pre_tool_use

EVENTS = {"post": post_tool_use, "pre": pre_tool_use}


class Sender:
    def __init__(self, port: int, token: str, make, prefix: str) -> None:
        self.port, self.token, self.make, self.prefix = port, token, make, prefix
        self.ids = itertools.count()
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    def request(self) -> bytes:
        body = json.dumps(self.make(f"{self.prefix}{next(self.ids)}")).encode()
        head = (
            f"POST /api/hooks/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def run(self, start: asyncio.Event, stop_at: list[float]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        await start.wait()
        while time.perf_counter() < stop_at[0]:
            request = self.request()
            began = time.perf_counter()
            writer.write(request)
            status, body = await _response(reader)
            if status == 200:
                self.latencies.append(time.perf_counter() - began)
            else:
                self.errors += 1
                self.first_error = self.first_error or f"{status} {body[:200]!r}"
        writer.close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def blast(port: int, tokens: list[str], senders: int, seconds: float, kind: str) -> dict:
    prefix = f"toolu_blast_{time.time_ns():x}_"
    workers = [
        Sender(port, tokens[n % len(tokens)], EVENTS[kind], f"{prefix}{n}_") for n in range(senders)
    ]
    start, stop_at = asyncio.Event(), [float("inf")]
    tasks = [asyncio.create_task(worker.run(start, stop_at)) for worker in workers]
    await asyncio.sleep(0.2)  # every connection open
    cpu, began = time.process_time(), time.perf_counter()
    stop_at[0] = began + seconds
    start.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    return {
        "seconds": wall,
        "latencies": [value for worker in workers for value in worker.latencies],
        "errors": sum(worker.errors for worker in workers),
        "first_error": next((w.first_error for w in workers if w.first_error), ""),
        "accepted_per_sender": [len(worker.latencies) for worker in workers],
        "cpu": (time.process_time() - cpu) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.blast")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", required=True, help="comma-separated hook tokens")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--kind", choices=sorted(EVENTS), default="post")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(
        blast(args.port, args.tokens.split(","), args.senders, args.seconds, args.kind)
    )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
