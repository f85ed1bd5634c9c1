"""`python -m bench`: set up, run every benchmark, print the tables (and write JSON)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from bench import backends, dashboards, floor, hooks, machine, report, rls, setup_data, start
from bench.machine import Machine, this_machine
from bench.server import Server, ServerKind, available, base_environment, parse_kind

SECTIONS = ("rls", "hooks", "start", "dashboards")


@dataclass
class Results:
    machine: Machine
    backends: backends.Backends
    settings: dict[str, object]
    throughput: list[hooks.ThroughputRow] = field(default_factory=list)
    integrity: list[hooks.Integrity] = field(default_factory=list)
    decisions: list[hooks.DecisionRow] = field(default_factory=list)
    # Session start by jail mode ("off", then "required" when bubblewrap works here).
    starts: dict[str, start.StartSummary] = field(default_factory=dict)
    jail_probe: dict[str, float] = field(default_factory=dict)  # median ms by mode
    start_server: str = ""
    repo_build_seconds: float = 0.0
    background_load: float = 0.0
    dashboards: dashboards.DashboardResults | None = None
    rls: list[rls.RlsRow] = field(default_factory=list)
    rls_note: str = ""
    floor: floor.FloorRow | None = None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.sections = {name.strip() for name in args.only.split(",") if name.strip()}
    if not args.sections <= set(SECTIONS):
        _parser().error(f"--only takes {', '.join(SECTIONS)}")
    kinds = [kind for kind in map(parse_kind, args.servers.split(",")) if _usable(kind)]
    chosen = backends.choose(
        sqlite=args.sqlite,
        database_url=args.database_url,
        redis_url=args.redis_url,
        use_redis=not args.no_redis,
    )
    with tempfile.TemporaryDirectory(prefix="orchestrator-bench-") as tmp:
        results = run(args, kinds, chosen, Path(tmp))
    print(render(results))
    if args.json:
        report.write_json(args.json, vars(results))
        progress(f"JSON written to {args.json}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sqlite", action="store_true", help="use SQLite even if PostgreSQL runs")
    parser.add_argument("--database-url", default=backends.DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=backends.DEFAULT_REDIS_URL)
    parser.add_argument("--no-redis", action="store_true", help="in-memory channel layer")
    parser.add_argument(
        "--servers",
        default="uvicorn,uvicorn:2,daphne",
        help="comma-separated: daphne, uvicorn, uvicorn:N (N worker processes); the first "
        "also serves the start and dashboard benchmarks",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput level")
    parser.add_argument("--senders", default="1,8,32", help="comma-separated sender counts")
    parser.add_argument("--decision-seconds", type=float, default=3.0)
    parser.add_argument("--start-runs", type=int, default=3, help="0 skips the start benchmark")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run: {', '.join(SECTIONS)} (default: all)",
    )
    parser.add_argument("--dashboards", default="10,50,100", help="dashboard counts (N)")
    parser.add_argument(
        "--dashboard-transports",
        default=",".join(dashboards.TRANSPORTS),
        help=f"comma-separated: {', '.join(dashboards.KNOWN_TRANSPORTS)}",
    )
    parser.add_argument("--dashboard-rate", type=float, default=5.0, help="hook events/s")
    parser.add_argument("--dashboard-idle-seconds", type=float, default=5.0)
    parser.add_argument("--dashboard-event-seconds", type=float, default=4.0)
    return parser


def _usable(kind: ServerKind) -> bool:
    if available(kind):
        return True
    progress(f"{kind.label} is not installed: skipped")
    return False


def run(args: argparse.Namespace, kinds: list[ServerKind], chosen, tmp: Path) -> Results:
    projects = tmp / "projects"
    projects.mkdir()
    env = _server_environment(chosen, data_dir=tmp / "data", projects=projects)
    results = Results(
        machine=this_machine(),
        backends=chosen,
        settings={"DEBUG": env["DEBUG"], "seconds_per_level": args.seconds},
    )
    progress(f"database: {chosen.database}; channel layer: {chosen.channel_layer}")
    results.background_load = machine.background_load(2.0)
    if "rls" in args.sections:
        _run_rls(chosen, tmp, results)
    progress("migrating ...")
    setup_data.migrate(env)
    token = setup_data.create_api_token(env)
    repo = None
    if args.start_runs and "start" in args.sections:
        progress(f"building a {setup_data.REPO_FILES}-file git repository ...")
        began = time.perf_counter()
        repo = setup_data.build_repository(projects)
        results.repo_build_seconds = time.perf_counter() - began
    senders = tuple(int(count) for count in args.senders.split(","))
    for index, kind in enumerate(kinds):
        if not args.sections & {"hooks", "start"}:
            break
        if "hooks" in args.sections:
            with Server(kind, env, tmp / f"{kind.name}-{kind.workers}.log") as server:
                _run_hooks(server, token, senders, args, results)
                if results.floor is None and chosen.database_url:
                    _run_floor(server, token, chosen.database_url, args, results)
        if index == 0 and repo is not None:
            _run_starts(kind, env, tmp, token, repo, args, results)
    if "dashboards" in args.sections and kinds:
        with Server(kinds[0], env, tmp / "dashboards.log") as server:
            results.dashboards = dashboards.measure(
                server, token, chosen.database_url, _dashboard_plan(args)
            )
    return results


def _run_rls(chosen: backends.Backends, tmp: Path, results: Results) -> None:
    """Row-level security on and off: PostgreSQL only (SQLite has none)."""
    if not chosen.database_url:
        results.rls_note = "skipped: row-level security needs PostgreSQL"
        return
    progress("row-level security on and off ...")
    results.rls = rls.measure(chosen.database_url, tmp / "rls-data")


def _run_starts(kind, env: dict, tmp: Path, token: str, repo: Path, args, results) -> None:
    """Session start without the jail (the floor) and with it, in the same run."""
    modes = ["off"] + (["required"] if sandbox_usable() else [])
    for mode in modes:
        log = tmp / f"start-{mode}.log"
        with Server(kind, {**env, "AGENT_SANDBOX": mode}, log) as server:
            progress(f"{kind.label}: session start x{args.start_runs}, AGENT_SANDBOX={mode} ...")
            api = hooks.api_for(server, token)
            results.starts[mode] = start.measure_start(api, repo, runs=args.start_runs)
            api.close()
    results.start_server = kind.label
    progress("the jail's own start cost ...")
    probe = subprocess.run(
        [sys.executable, "-m", "bench.jail_probe", "21"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    results.jail_probe = json.loads(probe.stdout)


def sandbox_usable() -> bool:
    if shutil.which("bwrap") is None:
        progress("bubblewrap is missing: session start measured without the jail only")
        return False
    return True


def _dashboard_plan(args: argparse.Namespace) -> dashboards.Plan:
    return dashboards.Plan(
        transports=tuple(name.strip() for name in args.dashboard_transports.split(",")),
        counts=tuple(int(count) for count in args.dashboards.split(",")),
        rate=args.dashboard_rate,
        idle_seconds=args.dashboard_idle_seconds,
        event_seconds=args.dashboard_event_seconds,
    )


def _run_hooks(
    server: Server, token: str, senders: tuple[int, ...], args, results: Results
) -> None:
    api = hooks.api_for(server, token)
    progress(f"{server.kind.label}: hook throughput at {senders} senders ...")
    rows, integrity = hooks.measure_throughput(server, api, seconds=args.seconds, senders=senders)
    results.throughput += rows
    results.integrity += integrity
    progress(f"{server.kind.label}: PreToolUse decisions ...")
    results.decisions.append(hooks.measure_decisions(server, api, seconds=args.decision_seconds))
    api.close()


def _run_floor(server: Server, token: str, database_url: str, args, results: Results) -> None:
    progress("the floor: the same rows by raw psycopg, batched ...")
    api = hooks.api_for(server, token)
    session = hooks.create_attached_session(api, "bench floor")
    api.close()
    results.floor = floor.measure(database_url, session.id, seconds=args.seconds)


def _server_environment(chosen: backends.Backends, *, data_dir: Path, projects: Path) -> dict:
    env = base_environment(
        {
            # As production runs: DEBUG off (no query log, no debug pages), plain HTTP on
            # loopback (no redirect to HTTPS), a throwaway encryption key.
            "DEBUG": os.environ.get("BENCH_DEBUG", "0"),
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SECRET_KEY": secrets.token_urlsafe(32),
            "DATA_DIR": str(data_dir),
            "AGENT_DISPATCH": "thread",
            "SCRIPTED_MODEL": "1",
            "LOCAL_PROJECT_ROOTS": str(projects),
        }
    )
    for key in ("DATABASE_URL", "REDIS_URL"):
        env.pop(key, None)  # only what `chosen` says, never a URL from the caller's shell
    env.update(chosen.environment())
    return env


def render(results: Results) -> str:
    lines = [
        "claude-orchestrator benchmarks",
        f"machine        {results.machine.describe()}",
        f"database       {results.backends.database}",
        f"channel layer  {results.backends.channel_layer}",
        f"settings       DEBUG={results.settings['DEBUG']} (BENCH_DEBUG), AGENT_DISPATCH=thread, "
        "scripted model",
        f"note           {results.machine.cores} cores shared by the server, the load "
        "generator (this process) and the database/Redis; CPU columns are cores busy "
        "(1.00 = one core)",
        f"background     {results.background_load:.2f} cores busy with other work before "
        "the run (should be ~0; if not, the numbers below are depressed)",
    ]
    if results.rls or results.rls_note:
        lines += [
            "",
            "0. Row-level security: the application role with the policies forced and the "
            "context set per transaction (on), against no policies and no context (off); "
            f"median of {rls.ROUNDS} alternated rounds",
            rls.render(results.rls) if results.rls else f"  {results.rls_note}",
        ]
    if results.throughput:
        lines += [
            "",
            "1. Hook ingestion: PostToolUse over HTTP to POST /api/hooks/, ONE shared attached "
            f"session, {results.settings['seconds_per_level']:g} s per row, keep-alive "
            "connection per sender",
            report.throughput_table(results.throughput),
            *(f"  check: {check.describe()}" for check in results.integrity),
            *_floor_lines(results),
            "",
            "2. PreToolUse decision latency: sequential posts, one connection",
            report.decision_table(results.decisions),
        ]
    for mode, summary in results.starts.items():
        lines += [
            "",
            f"3. Session start, AGENT_SANDBOX={mode}: managed local session on a "
            f"{setup_data.REPO_FILES}-file git repository (built in "
            f"{results.repo_build_seconds:.1f} s), scenario bash_write, server "
            f"{results.start_server}; times in ms",
            report.start_table(summary),
            "  prepare = started_at - created_at (workspace clone); agent->1st tool = first "
            "CommandLog created_at - started_at (CLI start, model, Bash run)",
        ]
    if "jailed" in results.jail_probe:
        plain, jailed = results.jail_probe["unjailed"], results.jail_probe["jailed"]
        lines.append(
            f"  the jail's own start cost: `claude --version` through the launcher {jailed:.0f} ms "
            f"jailed against {plain:.0f} ms unjailed (+{jailed - plain:.0f} ms, median of 21, "
            "alternated)"
        )
    if {"off", "required"} <= results.starts.keys():
        floor = results.starts["off"].median("agent_to_first_tool_ms")
        jailed = results.starts["required"].median("agent_to_first_tool_ms")
        lines.append(
            f"  the jail adds {jailed - floor:+.0f} ms to agent->1st tool "
            f"(median {jailed:.0f} ms jailed against {floor:.0f} ms unjailed, same run)"
        )
    if results.dashboards is not None:
        lines += ["", *dashboards.describe(results.dashboards)]
    return "\n".join(lines)


def _floor_lines(results: Results) -> list[str]:
    if results.floor is None:
        return ["  floor: not measured (needs PostgreSQL)"]
    row, best = results.floor, max(results.throughput, key=lambda r: r.events_per_second)
    return [
        f"  floor: the same rows by raw psycopg on one connection, {floor.BATCH} events per "
        f"transaction: {row.events_per_second:,.0f} events/s, {row.cpu_ms_per_event:.3f} ms "
        "CPU/event (client and PostgreSQL backend)",
        f"  best server row: {best.events_per_second:,.0f} events/s "
        f"({best.server}, {best.sessions} session(s), {best.senders} senders) = "
        f"{best.events_per_second / row.events_per_second:.0%} of the floor",
    ]


def progress(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)
