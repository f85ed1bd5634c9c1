"""Plain-text tables of the results, and the same results as JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path

from bench.hooks import DecisionRow, ThroughputRow
from bench.start import StartSummary


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def throughput_table(rows: Sequence[ThroughputRow]) -> str:
    headers = (
        "server",
        "sessions",
        "senders",
        "events",
        "events/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU",
        "CPU ms/event",
        "peak RSS MiB/process",
        "loadgen CPU",
        "machine CPU",
    )
    body = [
        (
            r.server,
            r.sessions,
            r.senders,
            r.events,
            r.events_per_second,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            r.server_cpu,
            r.server_cpu_ms_per_event,
            r.server_peak_rss_mib,
            r.client_cpu,
            r.machine_busy,
        )
        for r in rows
    ]
    notes = [f"  first error ({r.server}, {r.senders}): {r.first_error}" for r in rows if r.errors]
    return "\n".join([table(headers, body), *notes])


def decision_table(rows: Sequence[DecisionRow]) -> str:
    headers = ("server", "decisions", "p50 ms", "p99 ms", "max ms", "errors")
    body = [(r.server, r.decisions, r.p50_ms, r.p99_ms, r.max_ms, r.errors) for r in rows]
    return table(headers, body)


def start_table(summary: StartSummary) -> str:
    headers = (
        "run",
        "POST ms",
        "prepare ms",
        "agent->1st tool ms",
        "create->1st tool ms",
        "create->end ms",
        "status",
    )
    body: list[Sequence[object]] = [
        (
            str(index + 1),
            run.create_request_ms,
            run.prepare_ms,
            run.agent_to_first_tool_ms,
            run.create_to_first_tool_ms,
            run.create_to_end_ms,
            run.final_status,
        )
        for index, run in enumerate(summary.runs)
    ]
    body.append(
        (
            "median",
            summary.median("create_request_ms"),
            summary.median("prepare_ms"),
            summary.median("agent_to_first_tool_ms"),
            summary.median("create_to_first_tool_ms"),
            summary.median("create_to_end_ms"),
            "",
        )
    )
    reasons = [
        f"  run {index + 1}: {run.status_reason}"
        for index, run in enumerate(summary.runs)
        if run.final_status == "error"
    ]
    return "\n".join([table(headers, body), *reasons])


def write_json(path: Path, results: dict) -> None:
    path.write_text(json.dumps(results, indent=2, default=_plain) + "\n")


def _plain(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)
