"""Benchmarks 1 and 2: hook ingestion throughput (into one session, and spread over 8) and
PreToolUse decision latency over HTTP."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from bench.api import Api, ApiError
from bench.loadgen import LoadResult, percentile, run_load
from bench.server import HOST, Server

SENDERS = (1, 8, 32)
# The same load spread over SESSIONS sessions, at these sender counts.
SESSIONS = 8
SPREAD = (8, 32)
WARMUP_SECONDS = 1.0


@dataclass
class ThroughputRow:
    server: str
    sessions: int
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
    server: Server,
    api: Api,
    *,
    seconds: float,
    senders: tuple[int, ...] = SENDERS,
    spread: tuple[int, ...] = SPREAD,
) -> tuple[list[ThroughputRow], list[Integrity]]:
    """Every sender level into one shared attached session, then the `spread` levels over 8
    sessions (sender k posts into session k mod 8); what each session recorded, as a check."""
    label = server.kind.label
    one = [create_attached_session(api, f"bench hooks {label}")]
    many = [create_attached_session(api, f"bench hooks {label} {n}") for n in range(SESSIONS)]
    warmup = run_load(server, [one[0].hook_token], kind="post", senders=8, seconds=WARMUP_SECONDS)
    accepted = {one[0].id: len(warmup.latencies)}
    rows = []
    for sessions, levels in ((one, senders), (many, spread)):
        for count in levels:
            result = run_load(
                server,
                [s.hook_token for s in sessions],
                kind="post",
                senders=count,
                seconds=seconds,
            )
            rows.append(_throughput_row(label, len(sessions), result))
            _count_accepted(accepted, sessions, result)
    checks = [
        Integrity(f"{label} {session.id[:8]}", accepted.get(session.id, 0), _recorded(api, session))
        for session in one + many
    ]
    return rows, checks


def _count_accepted(accepted: dict[str, int], sessions, result: LoadResult) -> None:
    # Sender k posted into session k mod len(sessions); blast reports per sender in order.
    for index, count in enumerate(result.accepted_per_sender):
        session = sessions[index % len(sessions)]
        accepted[session.id] = accepted.get(session.id, 0) + count


def _recorded(api: Api, session: AttachedSession) -> int:
    return api.get(f"/api/sessions/{session.id}/")["tool_call_count"]


def _throughput_row(label: str, sessions: int, result: LoadResult) -> ThroughputRow:
    return ThroughputRow(
        server=label,
        sessions=sessions,
        senders=result.senders,
        events=len(result.latencies),
        events_per_second=result.events_per_second,
        p50_ms=percentile(result.latencies, 0.50) * 1000,
        p99_ms=percentile(result.latencies, 0.99) * 1000,
        errors=result.errors,
        server_cpu=result.server_cpu,
        server_cpu_ms_per_event=(
            result.server_cpu_seconds / len(result.latencies) * 1000
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
    result = run_load(server, [session.hook_token], kind="pre", senders=1, seconds=seconds)
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
