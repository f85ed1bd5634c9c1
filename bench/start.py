"""Benchmark 3: session start time, create -> first tool call, on a 10,000-file repository.

A managed `local` session is created through the API; the server prepares its workspace
(`git clone --local`) and runs Claude Code in a thread against the scripted model, scenario
`bash_write` (a Bash call first). The first CommandLog (the Bash call's PostToolUse) is the
first tool call; it is seen by polling `GET /api/sessions/{id}/logs/`.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.api import Api

POLL_SECONDS = 0.02
FIRST_TOOL_TIMEOUT = 90.0
END_TIMEOUT = 60.0
ENDED = frozenset({"idle", "completed", "error", "stopped"})


@dataclass
class StartRun:
    create_request_ms: float  # POST /api/sessions/ round trip
    prepare_ms: float  # started_at - created_at: the workspace clone
    agent_to_first_tool_ms: float  # first log's created_at - started_at: CLI, model, Bash
    create_to_first_tool_ms: float  # seen by the client: POST sent -> first log returned
    create_to_end_ms: float  # POST sent -> the turn ended
    final_status: str
    status_reason: str = ""


@dataclass
class StartSummary:
    runs: list[StartRun]

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)


def measure_start(api: Api, repo: Path, *, runs: int = 3) -> StartSummary:
    return StartSummary([_one_start(api, repo, index) for index in range(runs)])


def _one_start(api: Api, repo: Path, index: int) -> StartRun:
    sent = time.perf_counter()
    created = api.post(
        "/api/sessions/",
        {
            "name": f"bench start {index}",
            "project_type": "local",
            "local_path": str(repo),
            "initial_prompt": "[scenario:bash_write]",
            "metadata": {"permissionMode": "bypassPermissions"},
        },
    )
    answered = time.perf_counter()
    session_path = f"/api/sessions/{created['id']}/"
    first_log = _wait_first_log(api, session_path)
    seen = time.perf_counter()
    session = _wait_end(api, session_path)
    ended = time.perf_counter()
    created_at = _when(session["created_at"])
    started_at = _when(session["started_at"]) if session["started_at"] else None
    first_at = _when(first_log["created_at"]) if first_log else None
    return StartRun(
        create_request_ms=(answered - sent) * 1000,
        prepare_ms=_ms(started_at - created_at) if started_at else float("nan"),
        agent_to_first_tool_ms=(
            _ms(first_at - started_at) if first_at and started_at else float("nan")
        ),
        create_to_first_tool_ms=(seen - sent) * 1000 if first_log else float("nan"),
        create_to_end_ms=(ended - sent) * 1000,
        final_status=session["status"],
        status_reason=session["status_reason"],
    )


def _wait_first_log(api: Api, session_path: str) -> dict | None:
    deadline = time.monotonic() + FIRST_TOOL_TIMEOUT
    while time.monotonic() < deadline:
        page = api.get(f"{session_path}logs/?after=0&limit=1")
        if page["results"]:
            return page["results"][0]
        if api.get(session_path)["status"] in ("error", "stopped"):
            return None
        time.sleep(POLL_SECONDS)
    return None


def _wait_end(api: Api, session_path: str) -> dict:
    """Let the turn finish so the next run does not share the CPU with it."""
    deadline = time.monotonic() + END_TIMEOUT
    session = api.get(session_path)
    while session["status"] not in ENDED and time.monotonic() < deadline:
        time.sleep(0.1)
        session = api.get(session_path)
    return session


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ms(delta) -> float:
    return delta.total_seconds() * 1000
