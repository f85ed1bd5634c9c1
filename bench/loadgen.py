"""The hook load: what a hook post carries, and a run of bench/blast.py against a server while
/proc tells what the server and the machine spent."""

from __future__ import annotations

import html
import itertools
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import machine
from bench.server import ROOT, Server

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
    server_cpu_seconds: float = 0.0
    accepted_per_sender: list[int] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def run_load(server: Server, tokens: list[str], *, kind: str, senders: int, seconds: float):
    """Post `kind` events ("post": PostToolUse, "pre": PreToolUse) from `senders` connections
    for `seconds`, spread over the sessions whose hook `tokens` are given, from a separate
    process (bench/blast.py); /proc tells what the server and the machine spent meanwhile."""
    pids = server.pids()
    cpu_before = machine.cpu_seconds(pids)
    busy_before, _ = machine.machine_busy_seconds()
    began = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-m", "bench.blast", "--port", str(server.port)]
        + ["--tokens", ",".join(tokens), "--senders", str(senders)]
        + ["--seconds", str(seconds), "--kind", kind],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - began
    busy_after, _ = machine.machine_busy_seconds()
    blast = json.loads(finished.stdout)
    cpu_seconds = machine.cpu_seconds(pids) - cpu_before
    return LoadResult(
        senders=senders,
        seconds=blast["seconds"],
        latencies=blast["latencies"],
        errors=blast["errors"],
        first_error=blast["first_error"],
        # Over the whole child's run (its start and connection set-up are idle time for the
        # server): per event it is exact; as cores busy, a slight underestimate.
        server_cpu=cpu_seconds / blast["seconds"],
        server_cpu_seconds=cpu_seconds,
        client_cpu=blast["cpu"],
        machine_busy=(busy_after - busy_before) / wall,
        # Per process: the target is per web process (uvicorn's workers are several).
        server_peak_rss_mib=machine.largest_peak_rss_mib(pids),
        accepted_per_sender=blast["accepted_per_sender"],
    )


def summarize(body: bytes) -> str:
    """An error answer in one line; for Django's DEBUG page, its exception and message."""
    text = body.decode(errors="replace")
    title = re.search(r"<title>\s*(.*?)\s*</title>", text, re.S)
    value = re.search(r'<pre class="exception_value">(.*?)</pre>', text, re.S)
    if title:
        detail = html.unescape(value.group(1)) if value else ""
        return " ".join(f"{title.group(1)}: {detail}".split())[:200]
    return text[:200]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
