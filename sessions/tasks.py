"""The core's periodic Celery task; the agent's task lives in `agent/tasks.py`."""

from __future__ import annotations

from celery import shared_task

from . import reconcile


@shared_task(ignore_result=True)
def reconcile_sessions() -> None:
    """The periodic reconciler (scheduled in the admin: Periodic tasks)."""
    reconcile.reconcile(actor="reconciler")
