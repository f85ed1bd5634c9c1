"""Benchmarks 1 and 2: hook ingestion throughput and PreToolUse decision latency over HTTP."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from bench.api import Api, ApiError
from bench.loadgen import LoadResult, percentile, post_tool_use, pre_tool_use, run_load
from bench.loadgen import unique_body as body_of
from bench.server import HOST, Server

SENDERS = (1, 8, 32)
WARMUP_SECONDS = 1.0


@dataclass
class ThroughputRow:
    server: str
    senders: int
    events: int
    events_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu: float
    server_cpu_ms_per_event: float
    server_peak_rss_mib: float
    client_cpu: float
    machine_busy: float
    first_error: str = ""


@dataclass
class DecisionRow:
    server: str
    decisions: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int


@dataclass
class Integrity:
    server: str
    accepted: int  # 200 answers, the warm-up included
    recorded: int  # the session's tool_call_count afterwards

    def describe(self) -> str:
        verdict = "ok" if self.accepted == self.recorded else "MISMATCH"
        return f"{self.server}: {self.accepted} accepted, {self.recorded} recorded ({verdict})"


@dataclass
class AttachedSession:
    id: str
    hook_token: str


def create_attached_session(api: Api, name: str, attempts: int = 3) -> AttachedSession:
    """Setup, not measured: retried, loudly, if the server fails (SQLite "database is locked")."""
    data = {"name": name, "mode": "attached", "project_type": "github", "github_repo": "b/a"}
    for attempt in range(1, attempts + 1):
        try:
            created = api.post("/api/sessions/", data)
            return AttachedSession(id=created["id"], hook_token=created["hook_token"])
        except ApiError as exc:
            if attempt == attempts:
                raise
            print(f"[bench] creating a session failed, retrying: {exc}"[:300], file=sys.stderr)
            time.sleep(1)
    raise AssertionError("unreachable")


def measure_throughput(
    server: Server, api: Api, *, seconds: float, senders: tuple[int, ...] = SENDERS
) -> tuple[list[ThroughputRow], Integrity]:
    """One shared attached session for every level; what it recorded, as a check."""
    session = create_attached_session(api, f"bench hooks {server.kind.label}")
    body = body_of(post_tool_use)
    warmup = run_load(server, session.hook_token, body, senders=8, seconds=WARMUP_SECONDS)
    rows = [
        _throughput_row(
            server.kind.label,
            run_load(server, session.hook_token, body, senders=count, seconds=seconds),
        )
        for count in senders
    ]
    accepted = len(warmup.latencies) + sum(row.events for row in rows)
    recorded = api.get(f"/api/sessions/{session.id}/")["tool_call_count"]
    return rows, Integrity(server.kind.label, accepted, recorded)


def _throughput_row(label: str, result: LoadResult) -> ThroughputRow:
    return ThroughputRow(
        server=label,
        senders=result.senders,
        events=len(result.latencies),
        events_per_second=result.events_per_second,
        p50_ms=percentile(result.latencies, 0.50) * 1000,
        p99_ms=percentile(result.latencies, 0.99) * 1000,
        errors=result.errors,
        server_cpu=result.server_cpu,
        server_cpu_ms_per_event=(
            result.server_cpu * result.seconds / len(result.latencies) * 1000
            if result.latencies
            else float("nan")
        ),
        server_peak_rss_mib=result.server_peak_rss_mib,
        client_cpu=result.client_cpu,
        machine_busy=result.machine_busy,
        first_error=result.first_error,
    )


def measure_decisions(server: Server, api: Api, *, seconds: float) -> DecisionRow:
    """Sequential PreToolUse posts on one connection: what Claude Code waits for."""
    session = create_attached_session(api, f"bench decisions {server.kind.label}")
    result = run_load(server, session.hook_token, body_of(pre_tool_use), senders=1, seconds=seconds)
    return DecisionRow(
        server=server.kind.label,
        decisions=len(result.latencies),
        p50_ms=percentile(result.latencies, 0.50) * 1000,
        p99_ms=percentile(result.latencies, 0.99) * 1000,
        max_ms=max(result.latencies, default=0.0) * 1000,
        errors=result.errors,
    )


def api_for(server: Server, token: str) -> Api:
    return Api(HOST, server.port, token)
