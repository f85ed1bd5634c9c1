"""Database work measured on the database side: PostgreSQL's `pg_stat_database` counters for
the benchmark database, read from a connection to another database (so that reading costs
the measured database nothing).

The counters lag: a backend publishes its counts when it goes idle, but at most once a
second; counts left over wait for a 10 s idle timer (PGSTAT_MIN_INTERVAL and
PGSTAT_IDLE_INTERVAL in PostgreSQL 15+). `settle()` makes a reading complete without waiting
10 s: twice, 1.1 s apart, it sends one cheap request per server connection (the pool hands
them out first in, first out), so each backend runs one more transaction with its last
publication over a second ago and publishes everything at once. The nudges cost a known
number of transactions (calibrated), which `Counters.minus_nudges` takes off. Checked: with
nothing running, a reading 11 s after a settle() equals it.

pg_stat_statements would count statements too, but it needs shared_preload_libraries and
a server restart; transactions are what is measured (Django runs in autocommit, so each
query outside an atomic block is one transaction; one hook ingestion is one transaction
plus its token lookup).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

SETTLE_SECONDS = 1.1
# One round was measured to leave a few backends' counts behind now and then (a backend
# still busy, or one nudged twice, publishes later); after a second round, 1.1 s later,
# every backend has published.
NUDGE_ROUNDS = 2
READ = """
SELECT xact_commit + xact_rollback, tup_returned, tup_fetched
FROM pg_stat_database WHERE datname = %s
"""
CLIENT_PORTS = """
SELECT client_port FROM pg_stat_activity
WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""
BACKENDS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""


@dataclass(frozen=True)
class Counters:
    transactions: float = 0.0
    rows_returned: float = 0.0  # tup_returned: rows read by scans (index entries included)
    rows_fetched: float = 0.0  # tup_fetched: table rows fetched by index scans
    nudges: int = 0  # requests settle() sent just before this reading
    foreign: int = 0  # connections to the database from other processes than the server

    def __sub__(self, other: Counters) -> Counters:
        return Counters(
            self.transactions - other.transactions,
            self.rows_returned - other.rows_returned,
            self.rows_fetched - other.rows_fetched,
            self.nudges,
            max(self.foreign, other.foreign),
        )

    def minus_nudges(self, per_nudge: Counters) -> Counters:
        """This delta without the closing settle()'s own requests."""
        return Counters(
            self.transactions - self.nudges * per_nudge.transactions,
            self.rows_returned - self.nudges * per_nudge.rows_returned,
            self.rows_fetched - self.nudges * per_nudge.rows_fetched,
            foreign=self.foreign,
        )


class DatabaseStats:
    """`async with DatabaseStats(url, nudge_url) as stats:`; `stats.enabled` is False on
    SQLite or when the statistics cannot be read (every reading is then zero)."""

    def __init__(
        self, database_url: str, base_url: str, server_pids: list[int], nudge_session: str = ""
    ) -> None:
        self.server_pids = server_pids
        self.database_url = database_url
        self.database = urlsplit(database_url).path.lstrip("/") if database_url else ""
        self.base_url = base_url
        self.nudge_session = nudge_session  # an existing session's id
        self.conn = None
        self.client: httpx.AsyncClient | None = None
        self.per_nudge = Counters(1.0, 0.0, 0.0)
        self.problem = "" if database_url else "SQLite: not measured"

    @property
    def enabled(self) -> bool:
        return self.conn is not None

    async def __aenter__(self) -> DatabaseStats:
        if self.database_url:
            await self._open()
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=30)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.client is not None:
            await self.client.aclose()
        if self.conn is not None:
            await self.conn.close()

    async def _open(self) -> None:
        import psycopg

        parts = urlsplit(self.database_url)
        try:
            self.conn = await psycopg.AsyncConnection.connect(
                urlunsplit(parts._replace(path="/postgres")), autocommit=True, connect_timeout=5
            )
        except Exception as exc:  # no maintenance database, no rights: not measured
            self.conn = None
            self.problem = f"pg_stat_database unavailable ({exc})".splitlines()[0]

    async def read(self, nudges: int = 0) -> Counters:
        if self.conn is None:
            return Counters()
        cursor = await self.conn.execute(READ, (self.database,))
        transactions, returned, fetched = await cursor.fetchone()
        cursor = await self.conn.execute(CLIENT_PORTS, (self.database,))
        ours = local_ports(self.server_pids)
        foreign = sum(1 for (port,) in await cursor.fetchall() if port not in ours)
        return Counters(float(transactions), float(returned), float(fetched), nudges, foreign)

    async def settle(self, *, busy: bool = False) -> Counters:
        """A complete reading of everything done before the call (see the module doc).

        `busy`: the server is under steady load (polling dashboards), so every backend
        publishes about once a second anyway and the lag is the same at both ends of a
        window; nudging would only queue behind that load. Read at once."""
        if self.conn is None:
            return Counters()
        if busy:
            return await self.read()
        nudges = 0
        for _ in range(NUDGE_ROUNDS):
            await asyncio.sleep(SETTLE_SECONDS)
            cursor = await self.conn.execute(BACKENDS, (self.database,))
            (backends,) = await cursor.fetchone()
            for _ in range(backends):
                await self._nudge()
            nudges += backends
        return await self.read(nudges=nudges)

    async def calibrate(self) -> None:
        """What one nudge costs, from two settles in a row with nothing else running."""
        if self.conn is None:
            return
        first = await self.settle()
        delta = await self.settle() - first
        if delta.nudges:
            self.per_nudge = Counters(
                delta.transactions / delta.nudges,
                delta.rows_returned / delta.nudges,
                delta.rows_fetched / delta.nudges,
            )

    async def _nudge(self) -> None:
        """A hook post with a wrong hook token for an existing session: one indexed read of
        the session row, then 401. The lean hook route runs it on a worker thread, so it
        does not queue behind Django's request thread when polling saturates that."""
        assert self.client is not None
        token = f"{self.nudge_session.replace('-', '')}.nudge"
        await self.client.post(
            "/api/hooks/", content=b"{}", headers={"Authorization": f"Bearer {token}"}
        )


def release_own_connections() -> None:
    """The benchmark process made its API token through Django, whose connection pool then
    keeps idle connections to the measured database: close them, so that every backend of
    that database belongs to the server under test."""
    try:
        from django.conf import settings
        from django.db import connections
    except ImportError:
        return
    if not settings.configured:
        return
    connection = connections["default"]
    close_pool = getattr(connection, "close_pool", None)
    if close_pool is not None and connection.settings_dict.get("OPTIONS", {}).get("pool"):
        close_pool()


def local_ports(pids: list[int]) -> set[int]:
    """The local TCP ports of these processes' sockets (/proc/<pid>/fd, /proc/net/tcp*)."""
    inodes = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[9] in inodes:
                    ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports
