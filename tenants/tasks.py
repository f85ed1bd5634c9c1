from __future__ import annotations

from celery import shared_task

from .idempotency import expire_keys


@shared_task(ignore_result=True)
def expire_idempotency_keys() -> int:
    """Delete idempotency keys past their expiry (scheduled in the admin: Periodic tasks)."""
    return expire_keys()
