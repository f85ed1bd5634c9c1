"""Billing's Celery tasks: thin, they call the recompute."""

from __future__ import annotations

from celery import shared_task

from tenants.tenancy import platform_bypass

from . import recompute


@shared_task(ignore_result=True)
def recompute_costs() -> int:
    """The periodic recompute (scheduled in the admin: Periodic tasks, every 5 minutes)."""
    with platform_bypass("billing: recompute costs since the watermark"):
        return recompute.recompute()
