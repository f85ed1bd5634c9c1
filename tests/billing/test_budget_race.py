"""Budgets under real concurrency, on PostgreSQL: two sessions of one organization, each in
its own transaction and connection, ask to run a tool at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from billing import services
from billing.models import Spend
from sessions.choices import SessionMode
from sessions.ingest import batch, prepare
from tests.billing.conftest import pre, set_rate
from tests.conftest import new_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROUNDS = 10


def race(items) -> list[dict]:
    start = threading.Barrier(len(items))

    def one(item) -> dict:
        try:
            start.wait()
            return batch.write([item])[0].response
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(one, items))


def test_two_sessions_never_both_pass_when_only_one_call_fits(org, owner, member, superuser):
    set_rate(superuser, "Bash", "1")
    for round_ in range(ROUNDS):
        # Room for one more $1 call, not two.
        services.set_budget(
            actor=owner, organization=org, monthly_limit_usd=Decimal(round_) + Decimal("1.5")
        )
        sessions = [
            new_session(member, name=f"r{round_}-{i}", mode=SessionMode.ATTACHED) for i in (0, 1)
        ]
        items = [
            prepare(session_id=s.pk, organization_id=org.pk, payload=pre(f"t{round_}-{i}"))
            for i, s in enumerate(sessions)
        ]
        answers = race(items)
        denials = [
            a
            for a in answers
            if a.get("hookSpecificOutput", {}).get("permissionDecision") == "deny"
        ]
        assert len(denials) == 1, answers
        assert (
            "organization's monthly budget"
            in denials[0]["hookSpecificOutput"]["permissionDecisionReason"]
        )
    spent = Spend.objects.get(organization=org, subject="").cost_usd
    assert spent == ROUNDS
