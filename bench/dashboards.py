"""Benchmark 4: live dashboards. N viewers watch one attached session while hook events
arrive at a steady rate, over each live transport in turn, in one server run:

- `websocket`: `/ws/sessions/<id>/?after=0&token=<API token>` (minimal client, wsclient.py);
- `sse`: `GET /api/sessions/<id>/stream` with `Authorization: Token`;
- `poll`: the seed's dashboard, `GET /api/sessions/<id>/logs/?after=` and `/messages/?after=`
  every 3 s per dashboard (seed P2-1: 100 dashboards x 2 endpoints / 3 s = 67 requests/s);
- `events-poll` (optional): the new fallback, `GET /api/sessions/<id>/events/?after=` every
  3 s with If-None-Match.

Per transport and N, on a fresh attached session: open N dashboards, then an idle window (no
events) and an events window (PostToolUse posts at `rate`/s, each with a new tool_use_id,
until every dashboard has every event). Measured: the database's transactions and rows read
(pg_stat_database, see dbstats.py) per second while idle and per event (over what the same
dashboards cost while idle), event-to-dashboard latency (hook post sent -> event received;
for polling, the poll that returned it), and the server's CPU (/proc) and peak RSS (VmRSS
sampled every 0.2 s). A `none` row (no dashboard) gives the cost of ingestion alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import machine, wsclient
from bench.dbstats import Counters, DatabaseStats, release_own_connections
from bench.loadgen import percentile, post_tool_use, unique_body
from bench.report import table
from bench.server import HOST, Server

COUNTS = (10, 50, 100)
TRANSPORTS = ("websocket", "sse", "poll")
KNOWN_TRANSPORTS = (*TRANSPORTS, "events-poll")
PUSH = ("websocket", "sse")
POLL_INTERVAL = 3.0
CONNECT_TIMEOUT = 60.0
PUSH_DRAIN_TIMEOUT = 5.0  # polling gets POLL_INTERVAL more
RSS_SAMPLE_SECONDS = 0.2
RECONNECT_SECONDS = 1.0
WARM_UP_RATE = 40.0  # hook posts per second, for one second
WARM_UP_PATHS = ("logs", "messages", "events")
WARM_UP_ROUNDS = 10
WARM_UP_PASSES = 2
LATENCY_TARGET_MS = 100.0
NAN = float("nan")


@dataclass
class DashboardRow:
    transport: str
    dashboards: int
    connect_seconds: float
    idle_seconds: float
    idle_xact_per_s: float
    idle_rows_per_s: float
    events: int
    events_seconds: float
    events_xact_per_s: float
    xact_per_event: float  # over the dashboards' idle cost
    rows_per_event: float
    delivered: int
    expected: int
    duplicates: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    idle_cpu: float  # cores
    events_cpu: float  # cores
    cpu_ms_per_event: float  # over the idle CPU
    peak_rss_mib: float
    errors: int
    first_error: str = ""
    foreign_connections: int = 0  # other clients of the database: its columns are unreliable


@dataclass
class DashboardResults:
    server: str
    rate: float
    idle_seconds: float
    event_seconds: float
    database: str  # how the database work was measured, or why it was not
    nudge_xacts: float
    rows: list[DashboardRow] = field(default_factory=list)


@dataclass
class Target:
    base_url: str
    port: int
    api_token: str
    session_id: str = ""
    hook_token: str = ""

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_token}"}


class Dashboard:
    """One viewer: when it first saw each seq, and what went wrong."""

    def __init__(self) -> None:
        self.received: dict[int, float] = {}
        self.duplicates = 0
        self.errors = 0
        self.first_error = ""
        self.connected = asyncio.Event()

    def record(self, seq: object, at: float) -> None:
        if not isinstance(seq, int):
            return  # status events carry no seq
        if seq in self.received:
            self.duplicates += 1
        else:
            self.received[seq] = at

    def last_seq(self) -> int:
        return max(self.received, default=0)

    def fail(self, text: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or text


# --- the transports -----------------------------------------------------------------------


async def _websocket(dashboard: Dashboard, target: Target, _client: httpx.AsyncClient) -> None:
    after = dashboard.last_seq()
    path = f"/ws/sessions/{target.session_id}/?after={after}&token={target.api_token}"
    socket = await wsclient.connect(HOST, target.port, path, origin=target.base_url)
    dashboard.connected.set()
    try:
        while True:
            message = await socket.recv()
            dashboard.record(json.loads(message).get("seq"), time.perf_counter())
    finally:
        await socket.close()


async def _sse(dashboard: Dashboard, target: Target, client: httpx.AsyncClient) -> None:
    path = f"/api/sessions/{target.session_id}/stream"
    headers = {**target.api_headers(), "Last-Event-ID": str(dashboard.last_seq())}
    async with client.stream("GET", path, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code}")
        dashboard.connected.set()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                dashboard.record(json.loads(line[5:]).get("seq"), time.perf_counter())
    raise ConnectionError("the server ended the stream")


async def _poll(dashboard: Dashboard, target: Target, client: httpx.AsyncClient) -> None:
    """The seed's dashboard: both endpoints every 3 s (setInterval), from a random phase."""
    cursors = {"logs": 0, "messages": 0}
    dashboard.connected.set()

    async def fetch(name: str) -> None:
        path = f"/api/sessions/{target.session_id}/{name}/?after={cursors[name]}"
        response = await client.get(path, headers=target.api_headers())
        if response.status_code != 200:
            dashboard.fail(f"GET {name}: {response.status_code}")
            return
        page = response.json()
        now = time.perf_counter()
        for row in page["results"]:
            dashboard.record(row.get("seq"), now)
        if page.get("next_after") is not None:
            cursors[name] = page["next_after"]

    await _every(POLL_INTERVAL, lambda: asyncio.gather(fetch("logs"), fetch("messages")))


async def _events_poll(dashboard: Dashboard, target: Target, client: httpx.AsyncClient) -> None:
    """The new fallback at the seed's fixed 3 s: one endpoint, a 304 when nothing changed."""
    state = {"after": 0, "etag": ""}
    dashboard.connected.set()

    async def fetch() -> None:
        headers = target.api_headers()
        if state["etag"]:
            headers["If-None-Match"] = state["etag"]
        path = f"/api/sessions/{target.session_id}/events/?after={state['after']}"
        response = await client.get(path, headers=headers)
        if response.status_code == 304:
            return
        if response.status_code != 200:
            dashboard.fail(f"GET events: {response.status_code}")
            return
        page, now = response.json(), time.perf_counter()
        for event in page["results"]:
            dashboard.record(event.get("seq"), now)
        state["after"] = page["next_after"]
        state["etag"] = "" if page["has_more"] else response.headers.get("ETag", "")

    await _every(POLL_INTERVAL, fetch)


async def _every(interval: float, tick: Callable[[], Awaitable[object]]) -> None:
    next_tick = time.perf_counter() + random.uniform(0, interval)
    while True:
        await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
        next_tick += interval
        await tick()


VIEWERS: dict[str, Callable[[Dashboard, Target, httpx.AsyncClient], Coroutine]] = {
    "websocket": _websocket,
    "sse": _sse,
    "poll": _poll,
    "events-poll": _events_poll,
}


async def _view(transport: str, dashboard: Dashboard, target: Target, client) -> None:
    """A viewer that, like a browser's, reconnects from its last seq when it loses the
    stream; every loss counts as an error."""
    while True:
        try:
            await VIEWERS[transport](dashboard, target, client)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            dashboard.fail(f"{type(exc).__name__}: {exc}"[:200])
            dashboard.connected.set()
        await asyncio.sleep(RECONNECT_SECONDS)


# --- hook events ----------------------------------------------------------------------------


async def _feed(client: httpx.AsyncClient, target: Target, rate: float, seconds: float):
    """PostToolUse posts at `rate`/s for `seconds`: seq -> when its post was sent."""
    body = unique_body(post_tool_use)
    headers = {"Authorization": f"Bearer {target.hook_token}", "Content-Type": "application/json"}
    sent: dict[int, float] = {}
    errors: list[str] = []

    async def post() -> None:
        began = time.perf_counter()
        response = await client.post("/api/hooks/", content=body(), headers=headers)
        if response.status_code == 200:
            sent[response.json()["seq"]] = began
        else:
            errors.append(f"hook post: {response.status_code} {response.text[:100]}")

    start, posts = time.perf_counter(), []
    for index in range(max(1, round(rate * seconds))):
        await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        posts.append(asyncio.create_task(post()))
    await asyncio.gather(*posts)
    return sent, errors


async def _drain(dashboards: list[Dashboard], seqs: set[int], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if all(seqs <= dashboard.received.keys() for dashboard in dashboards):
            return
        await asyncio.sleep(0.02)


# --- one row --------------------------------------------------------------------------------


class RssSampler:
    """The server's largest resident set size while the row runs (VmHWM never goes down)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak_mib = 0.0
        self.task: asyncio.Task | None = None

    def __enter__(self) -> RssSampler:
        self.task = asyncio.create_task(self._sample())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.task is not None:
            self.task.cancel()
        self.peak_mib = max(self.peak_mib, rss_mib(self.pids))

    async def _sample(self) -> None:
        while True:
            self.peak_mib = max(self.peak_mib, rss_mib(self.pids))
            await asyncio.sleep(RSS_SAMPLE_SECONDS)


def rss_mib(pids: list[int]) -> float:
    total_kib = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


@dataclass
class Window:
    """A stretch of the run: wall time, server CPU seconds and the database's counters."""

    seconds: float
    cpu_seconds: float
    db: Counters
    db_seconds: float


class Row:
    """Runs one (transport, N) measurement; `run()` gives its DashboardRow."""

    def __init__(self, bench: Bench, transport: str, count: int) -> None:
        self.bench = bench
        self.transport = transport
        self.count = count
        self.dashboards = [Dashboard() for _ in range(count)]
        self.tasks: list[asyncio.Task] = []
        self.connect_seconds = 0.0

    async def run(self) -> DashboardRow:
        target = await self.bench.new_session(f"bench dashboards {self.transport} {self.count}")
        with RssSampler(self.bench.pids) as rss:
            try:
                await self._open(target)
                idle, events, sent, feed_errors = await self._measure(target)
            finally:
                await self._close()
        return self._row(idle, events, sent, feed_errors, rss.peak_mib)

    async def _open(self, target: Target) -> None:
        began = time.perf_counter()
        client = self.bench.viewer_client
        for dashboard in self.dashboards:
            view = _view(self.transport, dashboard, target, client)
            self.tasks.append(asyncio.create_task(view))
        waits = [dashboard.connected.wait() for dashboard in self.dashboards]
        await asyncio.wait_for(asyncio.gather(*waits), CONNECT_TIMEOUT)
        self.connect_seconds = time.perf_counter() - began

    async def _measure(self, target: Target):
        stats, busy = self.bench.stats, self.transport not in PUSH and self.count > 0
        start = await self._mark(await stats.settle(busy=busy))
        await asyncio.sleep(_idle_window(self.bench.idle_seconds, busy))
        idle = await self._window(start, await stats.settle(busy=busy))
        start = await self._mark(idle.db_end)
        sent, errors = await _feed(
            self.bench.hook_client, target, self.bench.rate, self.bench.event_seconds
        )
        drain = PUSH_DRAIN_TIMEOUT + (0 if self.transport in PUSH else POLL_INTERVAL)
        await _drain(self.dashboards, set(sent), drain)
        events = await self._window(start, await stats.settle(busy=busy))
        return idle, events, sent, errors

    async def _mark(self, db: Counters) -> _Mark:
        return _Mark(time.perf_counter(), machine.cpu_seconds(self.bench.pids), db)

    async def _window(self, start: _Mark, db: Counters) -> _Window:
        now = time.perf_counter()
        return _Window(
            seconds=now - start.at,
            cpu_seconds=machine.cpu_seconds(self.bench.pids) - start.cpu,
            db=(db - start.db).minus_nudges(self.bench.stats.per_nudge),
            db_end=db,
        )

    async def _close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _row(self, idle, events, sent, feed_errors, peak_rss) -> DashboardRow:
        latencies = [
            (dashboard.received[seq] - began) * 1000
            for dashboard in self.dashboards
            for seq, began in sent.items()
            if seq in dashboard.received
        ]
        measured = self.bench.stats.enabled
        count = len(sent)
        idle_xact = idle.db.transactions / idle.seconds if measured else NAN
        idle_rows = idle.db.rows_returned / idle.seconds if measured else NAN
        idle_cpu = idle.cpu_seconds / idle.seconds
        errors = [d.first_error for d in self.dashboards if d.first_error] + feed_errors
        return DashboardRow(
            transport=self.transport if self.count else "none",
            dashboards=self.count,
            connect_seconds=self.connect_seconds,
            idle_seconds=idle.seconds,
            idle_xact_per_s=idle_xact,
            idle_rows_per_s=idle_rows,
            events=count,
            events_seconds=events.seconds,
            events_xact_per_s=events.db.transactions / events.seconds if measured else NAN,
            xact_per_event=_per_event(events.db.transactions, idle_xact, events.seconds, count),
            rows_per_event=_per_event(events.db.rows_returned, idle_rows, events.seconds, count),
            delivered=len(latencies),
            expected=count * self.count,
            duplicates=sum(d.duplicates for d in self.dashboards),
            p50_ms=percentile(latencies, 0.50) if latencies else NAN,
            p95_ms=percentile(latencies, 0.95) if latencies else NAN,
            p99_ms=percentile(latencies, 0.99) if latencies else NAN,
            idle_cpu=idle_cpu,
            events_cpu=events.cpu_seconds / events.seconds,
            cpu_ms_per_event=_per_event(events.cpu_seconds, idle_cpu, events.seconds, count) * 1000,
            peak_rss_mib=peak_rss,
            errors=sum(d.errors for d in self.dashboards) + len(feed_errors),
            foreign_connections=max(idle.db.foreign, events.db.foreign),
            first_error=errors[0] if errors else "",
        )


def _idle_window(seconds: float, polling: bool) -> float:
    """Polling: whole poll periods (each dashboard then polls the same number of times)."""
    if not polling:
        return seconds
    return max(1, math.ceil(seconds / POLL_INTERVAL)) * POLL_INTERVAL


@dataclass
class _Mark:
    at: float
    cpu: float
    db: Counters


@dataclass
class _Window:
    seconds: float
    cpu_seconds: float
    db: Counters  # nudges taken off
    db_end: Counters  # the raw closing reading, the next window's start


def _per_event(total: float, idle_rate: float, seconds: float, events: int) -> float:
    """What the events added over the idle cost of the same dashboards, per event."""
    if not events or idle_rate != idle_rate:  # NaN: not measured
        return NAN
    return (total - idle_rate * seconds) / events


# --- the whole benchmark -----------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    transports: tuple[str, ...] = TRANSPORTS
    counts: tuple[int, ...] = COUNTS
    rate: float = 5.0  # hook events per second
    idle_seconds: float = 5.0  # the database window adds the ~2.4 s of the closing reading
    event_seconds: float = 4.0


class Bench:
    def __init__(self, server: Server, api_token: str, database_url: str, plan: Plan) -> None:
        self.server = server
        self.base_url = f"http://{HOST}:{server.port}"
        self.api_token = api_token
        self.database_url = database_url
        self.rate = plan.rate
        self.idle_seconds = plan.idle_seconds
        self.event_seconds = plan.event_seconds
        self.pids = server.pids()
        unlimited = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        timeout = httpx.Timeout(30.0, read=None)
        self.viewer_client = httpx.AsyncClient(
            base_url=self.base_url, limits=unlimited, timeout=timeout
        )
        self.hook_client = httpx.AsyncClient(base_url=self.base_url, timeout=60.0)
        self.api = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=60.0,
            headers={"Authorization": f"Token {api_token}"},
        )
        self.stats = DatabaseStats(database_url, self.base_url, self.pids)

    async def new_session(self, name: str) -> Target:
        data = {"name": name, "mode": "attached", "project_type": "github", "github_repo": "b/a"}
        response = await self.api.post("/api/sessions/", json=data)
        response.raise_for_status()
        created = response.json()
        return Target(
            base_url=self.base_url,
            port=self.server.port,
            api_token=self.api_token,
            session_id=created["id"],
            hook_token=created["hook_token"],
        )

    async def close(self) -> None:
        for client in (self.viewer_client, self.hook_client, self.api):
            await client.aclose()


async def _measure(bench: Bench, plan: Plan) -> DashboardResults:
    release_own_connections()
    probe = await bench.new_session("bench dashboards probe")
    bench.stats.nudge_session = probe.session_id
    _progress("dashboards: warming up the server ...")
    await _warm_up(bench, probe)
    async with bench.stats:
        await bench.stats.calibrate()
        results = DashboardResults(
            server=bench.server.kind.label,
            rate=bench.rate,
            idle_seconds=bench.idle_seconds,
            event_seconds=bench.event_seconds,
            database=_how_measured(bench.stats),
            nudge_xacts=bench.stats.per_nudge.transactions if bench.stats.enabled else NAN,
        )
        rows = [("none", 0)] + [(t, n) for t in plan.transports for n in plan.counts]
        for transport, count in rows:
            _progress(f"dashboards: {transport} x{count} ...")
            results.rows.append(await Row(bench, transport, count).run())
    await bench.close()
    return results


async def _warm_up(bench: Bench, target: Target) -> None:
    """Grow the server's connection pool and fill its backends' catalog caches first: a new
    PostgreSQL backend reads ~800 catalog rows, which would land in the first row (one pass
    was measured not to be enough, two were)."""
    paths = [f"/api/sessions/{target.session_id}/{name}/" for name in WARM_UP_PATHS]
    for _ in range(WARM_UP_PASSES):
        await _feed(bench.hook_client, target, rate=WARM_UP_RATE, seconds=1.0)
        await asyncio.gather(*(bench.api.get(path) for path in paths * WARM_UP_ROUNDS))


def _how_measured(stats: DatabaseStats) -> str:
    if not stats.enabled:
        return stats.problem
    return (
        "PostgreSQL pg_stat_database (xact_commit + xact_rollback, tup_returned) of the bench "
        "database, flushed by one cheap request per server connection before each reading "
        f"(each costs {stats.per_nudge.transactions:.2f} xact, "
        f"{stats.per_nudge.rows_returned:.2f} rows, taken off)"
    )


def measure(server: Server, api_token: str, database_url: str, plan: Plan) -> DashboardResults:
    """The benchmark against a running server; `database_url` "" means SQLite."""
    unknown = set(plan.transports) - set(KNOWN_TRANSPORTS)
    if unknown:
        raise ValueError(f"unknown transports {sorted(unknown)}: {', '.join(KNOWN_TRANSPORTS)}")
    # Django's logging setup (the API token was made through it) would log every request.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(_measure(Bench(server, api_token, database_url, plan), plan))


_STARTED = time.perf_counter()


def _progress(text: str) -> None:
    elapsed = time.perf_counter() - _STARTED
    print(f"[bench] {elapsed:5.0f} s  {text}", file=sys.stderr, flush=True)


# --- the report -------------------------------------------------------------------------------


def dashboard_table(results: DashboardResults) -> str:
    headers = (
        "transport",
        "N",
        "connect s",
        "idle xact/s",
        "idle rows/s",
        "events",
        "xact/event",
        "rows/event",
        "delivered",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "idle CPU",
        "events CPU",
        "CPU ms/event",
        "peak RSS MiB",
        "errors",
    )
    body = [
        (
            r.transport,
            r.dashboards,
            r.connect_seconds,
            r.idle_xact_per_s,
            r.idle_rows_per_s,
            r.events,
            r.xact_per_event,
            r.rows_per_event,
            f"{r.delivered}/{r.expected}" + (f" +{r.duplicates} dup" if r.duplicates else ""),
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.idle_cpu,
            r.events_cpu,
            r.cpu_ms_per_event,
            r.peak_rss_mib,
            r.errors,
        )
        for r in results.rows
    ]
    notes = [
        f"  first error ({r.transport}, {r.dashboards}): {r.first_error}"
        for r in results.rows
        if r.errors
    ]
    notes += [
        f"  WARNING ({r.transport}, {r.dashboards}): {r.foreign_connections} other client(s) "
        "were connected to the benchmark database: its database columns count their work too"
        for r in results.rows
        if r.foreign_connections
    ]
    return "\n".join([table(headers, body), *notes, *targets(results)])


def targets(results: DashboardResults) -> list[str]:
    """The issue's targets, printed (not asserted)."""
    push = [r for r in results.rows if r.transport in PUSH]
    lines = []
    if results.rows and results.rows[0].xact_per_event == results.rows[0].xact_per_event:
        idle = ", ".join(f"{r.transport} N={r.dashboards} {r.idle_xact_per_s:.2f}" for r in push)
        lines.append(f"  target: idle push dashboards cause no database queries (xact/s): {idle}")
        lines += [_growth(results, transport) for transport in PUSH if _has(results, transport)]
    else:
        lines.append("  target: database work: not measured on SQLite")
    largest = max((r.dashboards for r in results.rows), default=0)
    p95 = ", ".join(
        f"{r.transport} {r.p95_ms:.0f} ms" for r in results.rows if r.dashboards == largest
    )
    lines.append(f"  target: p95 latency under {LATENCY_TARGET_MS:.0f} ms at N={largest}: {p95}")
    return lines


def _has(results: DashboardResults, transport: str) -> bool:
    return any(r.transport == transport for r in results.rows)


def _growth(results: DashboardResults, transport: str) -> str:
    base = results.rows[0].xact_per_event
    values = " / ".join(
        f"N={r.dashboards} {r.xact_per_event:.2f}" for r in results.rows if r.transport == transport
    )
    return (
        f"  target: {transport} xact/event does not grow with N: {values} "
        f"(no dashboard: {base:.2f})"
    )


def describe(results: DashboardResults) -> list[str]:
    """Section 4 of `python -m bench`: its title, how it was measured, the table."""
    return [
        f"4. Live dashboards: N viewers of one attached session, server {results.server}; "
        f"{results.idle_seconds:g} s idle, then PostToolUse hook posts at "
        f"{results.rate:g}/s for {results.event_seconds:g} s; a fresh session per row",
        f"  database: {results.database}",
        "  idle xact/s, idle rows/s: database transactions and rows read (tup_returned) per "
        "second with N viewers open and no events; xact/event, rows/event, CPU ms/event: "
        "what the events added over that idle cost, per event",
        "  latency: hook post sent -> event received by each viewer (for polling: the poll "
        f"that returned it); poll = the seed's logs/ + messages/ every {POLL_INTERVAL:g} s",
        "  delivered: events received / events x N; viewers reconnect from their last seq "
        f"after {RECONNECT_SECONDS:g} s when a stream breaks (each break is an error); fewer "
        "delivered without errors means a stream stayed open but went silent. For polling, "
        "per-event figures are small differences of a large polling load: noise",
        dashboard_table(results),
    ]
