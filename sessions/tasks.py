"""The core's periodic Celery task; the agent's task lives in `agent/tasks.py`."""

from __future__ import annotations

from celery import shared_task

from . import reconcile, usage


@shared_task(ignore_result=True)
def reconcile_sessions() -> None:
    """The periodic reconciler (scheduled in the admin: Periodic tasks)."""
    reconcile.reconcile(actor="reconciler")


@shared_task(ignore_result=True)
def measure_usage() -> int:
    """The periodic measurement of workspaces on disk, for quotas (Periodic tasks)."""
    return usage.measure_usage()
