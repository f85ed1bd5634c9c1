"""The agent's Celery task (queue `agents`): thin, it calls the runner."""

from __future__ import annotations

from celery import shared_task


# The name predates this module's move here; keeping it lets turns queued before a deploy run
# after it.
@shared_task(
    name="sessions.tasks.run_session_turn",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_session_turn(session_id: str, turn_id: str, prompt: str | None) -> None:
    """Run one turn of a session. Safe to deliver twice: the turn is claimed before anything
    runs (services.claim_turn)."""
    # Imported here: the agent SDK (and the MCP and pydantic stack under it, about 20 MiB)
    # loads in the processes that run turns, not in every web process that only queues them.
    from .runner import run_turn

    run_turn(session_id, turn_id, prompt)
