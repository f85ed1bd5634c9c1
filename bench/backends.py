"""Which database and channel layer the benchmark runs on: PostgreSQL and Redis on loopback
when they answer, otherwise SQLite and the in-memory layer (the embedded default)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/orchestrator_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Backends:
    database_url: str  # "" means SQLite under DATA_DIR
    database: str
    redis_url: str  # "" means the in-memory channel layer
    channel_layer: str

    def environment(self) -> dict[str, str]:
        env = {}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env


def choose(*, sqlite: bool, database_url: str, redis_url: str, use_redis: bool) -> Backends:
    database_url, database = _database(sqlite, database_url)
    redis_url, channel_layer = _channel_layer(use_redis, redis_url)
    return Backends(database_url, database, redis_url, channel_layer)


def _database(sqlite: bool, url: str) -> tuple[str, str]:
    if sqlite:
        return "", "SQLite (WAL) in a temporary DATA_DIR (--sqlite)"
    try:
        version = _ensure_postgres_database(url)
    except Exception as exc:  # no server, no driver, no rights: the embedded default
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return "", f"SQLite (WAL) in a temporary DATA_DIR: PostgreSQL unavailable ({reason})"
    return url, f"PostgreSQL {version} at {_redact(url)}"


def _ensure_postgres_database(url: str) -> str:
    """Connect to the benchmark database, creating it first if missing; the server version."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return _server_version(conn)
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, connect_timeout=3, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return _server_version(conn)


def _server_version(conn) -> str:
    return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]


def _channel_layer(use_redis: bool, url: str) -> tuple[str, str]:
    if not use_redis:
        return "", "in-memory (--no-redis)"
    if _redis_answers(url):
        return url, f"Redis (channels_redis) at {url}"
    return "", f"in-memory: Redis unavailable at {url}"


def _redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=2) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
