"""Billing's cost on the hook path, in one run: PreToolUse decision latency with the budget
check (p50/p99), and hook ingestion events/s with cost accounting on and off.

    DEBUG=1 DATA_DIR=/tmp/bench-billing python manage.py migrate
    DEBUG=1 DATA_DIR=/tmp/bench-billing python -m bench.billing

(or with DATABASE_URL/DATABASE_OWNER_URL set: PostgreSQL, as the application role). Each
operation runs in-process through `receive_hook` (the hook route's whole contract, the writer
thread included; no HTTP). "Off" unregisters billing's meter: the ingestion path as before
billing. Rounds alternate on/off so that drift of the machine falls on both alike.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import time
from decimal import Decimal

ROUNDS = 6
DECISIONS_PER_ROUND = 200
EVENTS_PER_ROUND = 300


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    os.environ.setdefault("HOOK_RATE_LIMIT", "0")
    import django

    django.setup()
    from billing.meter import BillingMeter
    from sessions.ingest import extensions

    pre, post = _prepare()
    latencies: dict[str, list[float]] = {"on": [], "off": []}
    rates: dict[str, list[float]] = {"on": [], "off": []}
    for index in range(ROUNDS):
        for mode in ("on", "off") if index % 2 == 0 else ("off", "on"):
            if mode == "on":
                extensions.register_meter("billing", BillingMeter)
            else:
                extensions.unregister_meter("billing")
            latencies[mode] += [_timed(pre) for _ in range(DECISIONS_PER_ROUND)]
            began = time.perf_counter()
            for _ in range(EVENTS_PER_ROUND):
                post()
            rates[mode].append(EVENTS_PER_ROUND / (time.perf_counter() - began))
    extensions.register_meter("billing", BillingMeter)
    print(json.dumps({mode: _summary(latencies[mode], rates[mode]) for mode in ("on", "off")}))


def _summary(latencies: list[float], rates: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "pre_tool_use_p50_ms": round(statistics.median(ordered), 3),
        "pre_tool_use_p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 3),
        "post_tool_use_events_per_s": round(statistics.median(rates), 1),
    }


def _timed(operation) -> float:
    began = time.perf_counter()
    operation()
    return (time.perf_counter() - began) * 1000


def _prepare():
    """An organization with monthly budgets (its own and its user's) and an attached session
    with a budget of its own: every budget is checked on each PreToolUse."""
    from billing import services as billing_services
    from sessions import services as session_services
    from sessions.choices import SessionMode
    from sessions.hooks.intake import receive_hook
    from tenants import services
    from tenants.choices import Role
    from tenants.models import Organization
    from tenants.tenancy import platform_bypass, tenant_context

    slug = f"bench-billing-{secrets.token_hex(3)}"
    with platform_bypass("benchmark setup"):
        organization = Organization.objects.create(slug=slug, name="Billing benchmark")
        user = services.create_user(
            organization=organization,
            actor=None,
            username=slug,
            password=secrets.token_urlsafe(16),
            role=Role.ADMIN,
        )
    with tenant_context(organization):
        session = session_services.create_session(
            organization=organization,
            actor=user,
            name="bench",
            mode=SessionMode.ATTACHED,
            project_type="github",
            github_repo="acme/widgets",
            budget_limit=Decimal(1_000_000),
        )
        for member in (None, user):
            billing_services.set_budget(
                actor=user,
                organization=organization,
                user=member,
                monthly_limit_usd=Decimal(1_000_000),
            )
        token = session_services.rotate_hook_token(session=session, actor=user)
    counter = iter(range(10**9))

    def send(name: str) -> None:
        body = {
            "hook_event_name": name,
            "tool_name": "Bash",
            "tool_input": {"command": "ls"},
            "tool_response": {"stdout": "ok"},
            "tool_use_id": f"t{next(counter)}",
        }
        answer = receive_hook(authorization=f"Bearer {token}", body=json.dumps(body).encode())
        assert answer.status == 200, answer.body

    return (lambda: send("PreToolUse")), (lambda: send("PostToolUse"))


if __name__ == "__main__":
    main()
