"""Quotas under real concurrency, on PostgreSQL: fifty creates at once, one limit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from sessions import services as session_services
from sessions.choices import SessionMode
from sessions.models import Session
from tenants import services
from tenants.quotas import QuotaExceeded
from tenants.tenancy import tenant_context

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

CREATES = 50


def create_at_once(org, user, count: int) -> list[str]:
    """`count` threads, each with its own database connection, create a session at the same
    moment; what each got ("created" or the quota it hit)."""
    start = threading.Barrier(count)

    def one(index: int) -> str:
        try:
            start.wait()
            # As a request would: its middleware enters the organization's context.
            with tenant_context(org):
                return create_one(index)
        except QuotaExceeded as exc:
            return exc.quota
        finally:
            connection.close()

    def create_one(index: int) -> str:
        session_services.create_session(
            organization=org,
            actor=user,
            name=f"burst {index}",
            project_type="github",
            github_repo="acme/widgets",
            mode=SessionMode.ATTACHED,
        )
        return "created"

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_fifty_concurrent_creates_never_pass_the_active_sessions_limit(org, member):
    services.set_quotas(organization=org, actor=None, changes={"max_active_sessions": 5})
    answers = create_at_once(org, member, CREATES)
    assert answers.count("created") == 5
    assert answers.count("max_active_sessions") == CREATES - 5
    assert Session.objects.filter(organization=org).count() == 5


def test_fifty_concurrent_creates_never_pass_the_daily_limit(org, member):
    services.set_quotas(organization=org, actor=None, changes={"max_sessions_per_day": 7})
    answers = create_at_once(org, member, CREATES)
    assert answers.count("created") == 7
    assert Session.objects.filter(organization=org).count() == 7
