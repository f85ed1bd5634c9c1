"""Row-level security's cost: hook ingestion and the session list, with RLS on and off, in
one run. `python -m bench --only rls` (part of `make bench`).

The driver (`measure`) makes a database of its own with the two roles (tenants/db_roles.py),
migrates it as the owner and runs this module as a child process connected as the
application role. The child alternates rounds: "on" is the product as shipped (policies
forced, the context set in every transaction); "off" disables the policies (the owner's
ALTER TABLE) and the backend's context setting, as before row-level security. What the
hook path does to find a session's organization (one indexed function call) stays in both.
Each operation runs in-process (no HTTP): the database work is the whole difference.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.server import ROOT

ROUNDS = 16
HOOKS_PER_ROUND = 100
LISTS_PER_ROUND = 50
SESSIONS = 200


@dataclass
class RlsRow:
    operation: str
    on_ms: float
    off_ms: float

    @property
    def overhead(self) -> float:
        return (self.on_ms - self.off_ms) / self.off_ms * 100 if self.off_ms else 0.0


def measure(superuser_url: str, data_dir: Path) -> list[RlsRow]:
    """Set up roles and a database beside the benchmark's, then run the child."""
    from tenants.db_roles import ensure_roles

    parts = urlsplit(superuser_url)
    name = parts.path.lstrip("/") + "_rls"
    app_url = urlunsplit(
        parts._replace(netloc=f"{name}_app@{parts.hostname}:{parts.port or 5432}", path=f"/{name}")
    )
    owner_url = urlunsplit(
        parts._replace(
            netloc=f"{name}_owner@{parts.hostname}:{parts.port or 5432}", path=f"/{name}"
        )
    )
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    _drop_database(maintenance, name)  # a fresh one each run: the same rows every time
    ensure_roles(maintenance, app_url=app_url, owner_url=owner_url)
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": app_url,
        "DATABASE_OWNER_URL": owner_url,
        "HOOK_RATE_LIMIT": "0",
    }
    env.pop("REDIS_URL", None)
    for args in (["manage.py", "migrate", "--no-input"], ["-m", "bench.rls"]):
        result = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    return [RlsRow(**row) for row in rows]


def _drop_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def render(rows: list[RlsRow]) -> str:
    lines = [
        "| operation (in-process, per call) | RLS on | RLS off | cost of RLS |",
        "|---|---|---|---|",
    ]
    for row in rows:
        on, off = f"{row.on_ms:.2f} ms", f"{row.off_ms:.2f} ms"
        lines.append(f"| {row.operation} | {on} | {off} | {row.overhead:+.1f} % |")
    return "\n".join(lines)


# --- the child: Django, connected as the application role --------------------------------


def _child() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    import django

    django.setup()
    hook, listing = _prepare()
    timings: dict[str, dict[str, list[float]]] = {"hook": {}, "list": {}}
    for index in range(ROUNDS):
        for mode in ("on", "off") if index % 2 == 0 else ("off", "on"):
            _switch(mode)
            timings["hook"].setdefault(mode, []).append(_per_call(hook, HOOKS_PER_ROUND))
            timings["list"].setdefault(mode, []).append(_per_call(listing, LISTS_PER_ROUND))
    _switch("on")
    names = {
        "hook": "hook ingestion (PostToolUse)",
        "list": f"session list (GET /api/sessions/, {SESSIONS} sessions)",
    }
    print(
        json.dumps(
            [
                {
                    "operation": names[key],
                    "on_ms": statistics.median(timings[key]["on"]),
                    "off_ms": statistics.median(timings[key]["off"]),
                }
                for key in ("hook", "list")
            ]
        )
    )


def _prepare():
    from rest_framework.test import APIClient

    from sessions import services as session_services
    from sessions.choices import SessionMode
    from sessions.hooks.intake import receive_hook
    from tenants import services
    from tenants.choices import Role
    from tenants.models import Organization
    from tenants.tenancy import platform_bypass, tenant_context

    with platform_bypass("benchmark setup"):
        organization = Organization.objects.create(slug="bench-rls", name="RLS")
        other = Organization.objects.create(slug="bench-rls-other", name="Other")
        user, owner = (
            services.create_user(
                organization=org,
                actor=None,
                username=f"bench-{org.slug}",
                password=secrets.token_urlsafe(16),
                role=Role.ADMIN,
            )
            for org in (organization, other)
        )
        _, token = services.issue_api_token(user=user, name="bench")
    # Two organizations of the same size: the policies have rows to hold back.
    for org, actor in ((other, owner), (organization, user)):
        with tenant_context(org):
            sessions = [
                session_services.create_session(
                    organization=org,
                    actor=actor,
                    name=f"s{i}",
                    mode=SessionMode.ATTACHED,
                    project_type="github",
                    github_repo="acme/widgets",
                )
                for i in range(SESSIONS)
            ]
    with tenant_context(organization):
        hook_token = session_services.rotate_hook_token(session=sessions[0], actor=user)
    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    counter = iter(range(10**9))

    def hook() -> None:
        body = json.dumps(
            {
                "hook_event_name": "PostToolUse",
                "tool_name": "Bash",
                "tool_input": {"command": "ls"},
                "tool_response": {"stdout": "ok"},
                "tool_use_id": f"t{next(counter)}",
            }
        ).encode()
        answer = receive_hook(authorization=f"Bearer {hook_token}", body=body)
        assert answer.status == 200, answer.body

    def listing() -> None:
        answer = client.get("/api/sessions/")
        assert answer.status_code == 200 and answer.json()["count"] == SESSIONS

    return hook, listing


def _switch(mode: str) -> None:
    """Policies and context on (as shipped) or off (as before)."""
    import psycopg
    from django.conf import settings
    from django.db import connection

    from tenants import rls
    from tenants.postgresql.base import _with_tenant_context

    tables = [
        "agent_sessions_session",
        "agent_sessions_sessionmessage",
        "agent_sessions_commandlog",
        "agent_sessions_hookevent",
        "agent_sessions_cleanuprecord",
        "tenants_apitoken",
        "tenants_auditevent",
        "tenants_idempotencykey",
    ]
    connection.close()
    with psycopg.connect(settings.DATABASE_OWNER_URL, autocommit=True) as owner:
        for table in tables:
            for statement in (
                rls.enable_sql(table, "organization_id") if mode == "on" else rls.disable_sql(table)
            ):
                owner.execute(statement)
    connection.ensure_connection()
    wrappers = connection.execute_wrappers
    if mode == "off" and _with_tenant_context in wrappers:
        wrappers.remove(_with_tenant_context)
    elif mode == "on" and _with_tenant_context not in wrappers:
        wrappers.insert(0, _with_tenant_context)


def _per_call(operation, count: int) -> float:
    operation()  # warm
    began = time.perf_counter()
    for _ in range(count):
        operation()
    return (time.perf_counter() - began) / count * 1000


if __name__ == "__main__":
    _child()
