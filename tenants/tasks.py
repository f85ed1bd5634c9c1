from __future__ import annotations

from celery import shared_task

from .idempotency import expire_keys
from .tenancy import platform_bypass


@shared_task(ignore_result=True)
def expire_idempotency_keys() -> int:
    """Delete idempotency keys past their expiry (scheduled in the admin: Periodic tasks)."""
    with platform_bypass("expire idempotency keys"):
        return expire_keys()
