"""The two PostgreSQL roles: the owner (DATABASE_OWNER_URL) owns the tables and runs the
migrations; the application (DATABASE_URL) owns nothing and has no BYPASSRLS, so row-level
security holds it. `ensure_roles` creates both when missing (`manage.py ensure_db_roles`, run
with a superuser's URL); `grant_app_role` gives the application its rights after each
migration, on the tables there are and, by default privileges, on those to come.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

APP_TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
APP_SEQUENCE_RIGHTS = "USAGE, SELECT, UPDATE"


def role_of(url: str) -> tuple[str, str]:
    """(user, password) of a postgres:// URL."""
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password or "")


def database_of(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def grant_app_role(cursor, app_role: str, *, truncate: bool = False) -> None:
    """The application's rights on everything in the current schema, now and to come (run as
    the owner). TRUNCATE ignores row-level security: only a test database grants it (its
    teardown empties the tables through the application's connection)."""
    rights = APP_TABLE_RIGHTS + (", TRUNCATE" if truncate else "")
    role = sql.Identifier(app_role)
    for statement in (
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT {rights} ON ALL TABLES IN SCHEMA {{schema}} TO {{role}}",
        f"GRANT {APP_SEQUENCE_RIGHTS} ON ALL SEQUENCES IN SCHEMA {{schema}} TO {{role}}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} GRANT {rights} ON TABLES TO {{role}}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} "
        f"GRANT {APP_SEQUENCE_RIGHTS} ON SEQUENCES TO {{role}}",
    ):
        cursor.execute(sql.SQL(statement).format(schema=sql.Identifier(_schema(cursor)), role=role))


def _schema(cursor) -> str:
    cursor.execute("SELECT current_schema()")
    return cursor.fetchone()[0]


def ensure_roles(superuser_url: str, *, app_url: str, owner_url: str) -> list[str]:
    """Create the owner and application roles and the database (owned by the owner) when
    missing; make sure neither role is a superuser or has BYPASSRLS. Returns what was done."""
    owner, owner_password = role_of(owner_url)
    app, app_password = role_of(app_url)
    if not owner or not app or owner == app:
        raise ValueError("DATABASE_URL and DATABASE_OWNER_URL must name two different roles.")
    done: list[str] = []
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for role, password, extra in ((owner, owner_password, "CREATEDB"), (app, app_password, "")):
            done += _ensure_role(conn, role, password, extra)
        done += _ensure_database(conn, database_of(app_url), owner)
    return done


def _ensure_role(conn, role: str, password: str, extra: str) -> list[str]:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    verb = "ALTER" if exists else "CREATE"
    options = f"LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE {extra or 'NOCREATEDB'}"
    statement = sql.SQL(f"{verb} ROLE {{}} WITH {options}").format(sql.Identifier(role))
    if password:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    conn.execute(statement)
    return [] if exists else [f"created role {role}"]


def _ensure_database(conn, name: str, owner: str) -> list[str]:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        return []
    conn.execute(
        sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner))
    )
    return [f"created database {name} owned by {owner}"]
