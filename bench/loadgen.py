"""The hook load generator: threads, each with its own keep-alive connection, posting hook
events for a fixed time, while /proc tells what the server and the machine spent."""

from __future__ import annotations

import html
import http.client
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import machine
from bench.server import HOST, Server

HOOK_PATH = "/api/hooks/"
_ids = itertools.count()


def post_tool_use(tool_use_id: str) -> dict:
    """A PostToolUse payload as Claude Code 2.1 sends it (fixture hooks_pre_post_stop)."""
    return {
        **_common(),
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "echo hello > hello.txt && ls", "description": "make a file"},
        "tool_response": {
            "stdout": "hello.txt",
            "stderr": "",
            "interrupted": False,
            "isImage": False,
            "noOutputExpected": False,
        },
        "tool_use_id": tool_use_id,
        "duration_ms": 422,
    }


def pre_tool_use(tool_use_id: str) -> dict:
    return {
        **_common(),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "echo hello > hello.txt && ls", "description": "make a file"},
        "tool_use_id": tool_use_id,
    }


def _common() -> dict:
    claude_session = "7c4488ac-9ecc-4624-861b-ece7fdca94b8"
    return {
        "session_id": claude_session,
        "transcript_path": f"/home/dev/.claude/projects/-home-dev-project/{claude_session}.jsonl",
        "cwd": "/home/dev/project",
        "prompt_id": "474ba645-7257-434b-ade6-13bded1e0272",
        "permission_mode": "bypassPermissions",
        "effort": {"level": "medium"},
    }


def unique_body(make: Callable[[str], dict]) -> Callable[[], bytes]:
    """Bodies with a tool_use_id never used before in this process."""
    prefix = f"toolu_bench_{time.time_ns():x}_"
    return lambda: json.dumps(make(f"{prefix}{next(_ids)}")).encode()


@dataclass
class LoadResult:
    senders: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_busy: float = 0.0
    server_peak_rss_mib: float = 0.0

    @property
    def events_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


class _Sender(threading.Thread):
    def __init__(self, port: int, token: str, body: Callable[[], bytes], start, stop_at) -> None:
        super().__init__(daemon=True)
        self.port, self.body, self.start_barrier, self.stop_at = port, body, start, stop_at
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    def run(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        self.start_barrier.wait()
        while time.perf_counter() < self.stop_at[0]:
            body = self.body()
            began = time.perf_counter()
            try:
                conn.request("POST", HOOK_PATH, body=body, headers=self.headers)
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._error(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                continue
            if response.status == 200:
                self.latencies.append(time.perf_counter() - began)
            else:
                self._error(f"{response.status} {summarize(answer)}")
        conn.close()

    def _error(self, text: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or text


def summarize(body: bytes) -> str:
    """An error answer in one line; for Django's DEBUG page, its exception and message."""
    text = body.decode(errors="replace")
    title = re.search(r"<title>\s*(.*?)\s*</title>", text, re.S)
    value = re.search(r'<pre class="exception_value">(.*?)</pre>', text, re.S)
    if title:
        detail = html.unescape(value.group(1)) if value else ""
        return " ".join(f"{title.group(1)}: {detail}".split())[:200]
    return text[:200]


def run_load(
    server: Server, token: str, body: Callable[[], bytes], *, senders: int, seconds: float
) -> LoadResult:
    """Post from `senders` threads for `seconds`; the window ends when the last one returns."""
    stop_at = [float("inf")]
    start = threading.Barrier(senders + 1)
    threads = [_Sender(server.port, token, body, start, stop_at) for _ in range(senders)]
    for thread in threads:
        thread.start()
    pids = server.pids()
    cpu_before, client_before = machine.cpu_seconds(pids), time.process_time()
    busy_before, _ = machine.machine_busy_seconds()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    busy_after, _ = machine.machine_busy_seconds()
    result = LoadResult(
        senders=senders,
        seconds=wall,
        server_cpu=(machine.cpu_seconds(pids) - cpu_before) / wall,
        client_cpu=(time.process_time() - client_before) / wall,
        machine_busy=(busy_after - busy_before) / wall,
        server_peak_rss_mib=machine.peak_rss_mib(pids),
    )
    for thread in threads:
        result.latencies.extend(thread.latencies)
        result.errors += thread.errors
        result.first_error = result.first_error or thread.first_error
    return result


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
