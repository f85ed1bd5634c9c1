"""The floor for hook ingestion: the rows one PostToolUse becomes, written by raw psycopg on
one connection, batched as the writer batches them (100 events per transaction) with the same
statements (lock the session, insert the raw events skipping duplicates, insert the command
logs, point the events at their seq, update the session's counters). No HTTP, no
authentication, no Django: what the database itself needs, measured in the same run as the
server so the ratio of the two is visible. CPU is this process's plus its PostgreSQL
backend's (/proc)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from bench import machine
from bench.loadgen import post_tool_use

BATCH = 100


@dataclass
class FloorRow:
    events: int
    events_per_second: float
    cpu_ms_per_event: float  # client and PostgreSQL backend together


def measure(database_url: str, session_id: str, *, seconds: float) -> FloorRow:
    import psycopg

    with psycopg.connect(database_url, autocommit=False) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        organization = conn.execute(
            "SELECT organization_id FROM agent_sessions_session WHERE id = %s", [session_id]
        ).fetchone()[0]
        conn.commit()
        ids = (f"toolu_floor_{uuid.uuid4().hex}_{n}" for n in range(10**9))
        events, cpu_before = 0, time.process_time() + machine.cpu_seconds([backend])
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            _batch(conn, session_id, organization, [next(ids) for _ in range(BATCH)])
            events += BATCH
        wall = time.perf_counter() - began
        cpu = time.process_time() + machine.cpu_seconds([backend]) - cpu_before
    return FloorRow(events, events / wall, cpu / events * 1000)


def _batch(conn, session_id: str, organization, tool_use_ids: list[str]) -> None:
    payloads = [post_tool_use(tool_use_id) for tool_use_id in tool_use_ids]
    with conn.cursor() as cur:
        cur.execute(
            "SELECT last_seq FROM agent_sessions_session WHERE id = %s FOR UPDATE", [session_id]
        )
        last = cur.fetchone()[0]
        rows = [
            (session_id, organization, f"PostToolUse:{p['tool_use_id']}", "PostToolUse")
            + (json.dumps({k: v for k, v in p.items() if k != "tool_response"}), 500)
            for p in payloads
        ]
        marks = ", ".join(["(%s, %s, %s, %s, %s::jsonb, %s, now())"] * len(rows))
        cur.execute(
            "INSERT INTO agent_sessions_hookevent (session_id, organization_id, event_key, "
            "hook_event_name, payload, payload_bytes, created_at) VALUES "
            + marks
            + " ON CONFLICT (session_id, event_key) DO NOTHING RETURNING id",
            [value for row in rows for value in row],
        )
        event_ids = [row[0] for row in cur.fetchall()]
        logs = [
            (session_id, organization, last + n + 1, "Bash", json.dumps(p["tool_input"]), 80)
            + ("hello.txt", 9, False, 422, p["tool_use_id"])
            for n, p in enumerate(payloads)
        ]
        marks = ", ".join(
            ["(%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, now())"] * len(logs)
        )
        cur.execute(
            "INSERT INTO agent_sessions_commandlog (session_id, organization_id, seq, tool, "
            "input, input_bytes, result, result_bytes, is_error, duration_ms, tool_use_id, "
            "created_at) VALUES " + marks + " RETURNING id",
            [value for row in logs for value in row],
        )
        cur.fetchall()
        cases = " ".join(["WHEN %s THEN %s"] * len(event_ids))
        pairs = [v for n, pk in enumerate(event_ids) for v in (pk, last + n + 1)]
        cur.execute(
            f"UPDATE agent_sessions_hookevent SET seq = CASE id {cases} END WHERE id = ANY(%s)",
            [*pairs, event_ids],
        )
        cur.execute(
            "UPDATE agent_sessions_session SET last_seq = %s, tool_call_count = tool_call_count "
            "+ %s, last_activity_at = now(), updated_at = now() WHERE id = %s",
            [last + len(payloads), len(payloads), session_id],
        )
    conn.commit()
