from __future__ import annotations

from celery import shared_task

from . import reconcile
from .runner import run_turn


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_session_turn(session_id: str, turn_id: str, prompt: str | None) -> None:
    """Run one turn of a session (queue `agents`). Safe to deliver twice: the turn is
    claimed before anything runs (services.claim_turn)."""
    run_turn(session_id, turn_id, prompt)


@shared_task(ignore_result=True)
def reconcile_sessions() -> None:
    """The periodic reconciler (scheduled in the admin: Periodic tasks)."""
    reconcile.reconcile(actor="reconciler")
