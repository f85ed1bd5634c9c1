"""Alerting's Celery tasks: thin, they call the engine."""

from __future__ import annotations

from celery import shared_task

from . import engine


@shared_task(ignore_result=True)
def evaluate_alerts() -> None:
    """The periodic evaluation (scheduled in the admin: Periodic tasks, every minute)."""
    engine.tick()


@shared_task(ignore_result=True)
def flush_organization(organization_id: str) -> None:
    """The event-driven flush of one organization, queued after a failure or a crossing."""
    engine.flush(organization_id)
