from __future__ import annotations

from celery import shared_task

from .runner import run_turn


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_session_turn(session_id: str, prompt: str | None) -> None:
    """Run one turn of a session (queue `agents`)."""
    run_turn(session_id, prompt)
