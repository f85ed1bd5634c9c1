"""Where a turn runs: a Celery worker (queue `agents`) when a broker is configured, otherwise
a background thread of this process (the embedded default). Either way the caller returns at
once. `queue_turn` is what `AgentSessionsConfig.ready()` installs as the core's turn
dispatcher (`sessions.turns`)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

from tenants.tenancy import session_context

from ..models import Session
from ..services import abandon_turn
from .tasks import run_session_turn

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None


def queue_turn(session_id, turn_id, prompt: str | None) -> None:
    """Queue one turn; if queueing fails the session ends in `error` instead of hanging."""
    try:
        if settings.AGENT_DISPATCH == "celery":
            # retry=False: a broker that is down fails the session now, not minutes later.
            run_session_turn.apply_async(
                args=[str(session_id), str(turn_id), prompt], queue="agents", retry=False
            )
        else:
            _embedded_executor().submit(_run_in_thread, session_id, turn_id, prompt)
    except Exception as exc:
        logger.exception("could not queue a turn for session %s", session_id)
        with session_context(session_id):
            _abandon(session_id, exc)


def _abandon(session_id, exc: Exception) -> None:
    abandon_turn(
        session=Session.objects.get(pk=session_id),
        actor="dispatch",
        reason=f"Could not queue the turn: {exc}",
    )


def _embedded_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=settings.AGENT_EMBEDDED_WORKERS, thread_name_prefix="agent-turn"
        )
    return _executor


def drain_embedded_turns() -> None:
    """Wait for the turns running in this process's threads. A command that started one
    calls it before it exits: once the interpreter shuts down, a turn's clean-up (closing its
    database connections through asyncio's executor) could no longer run."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None


def _run_in_thread(session_id, turn_id, prompt: str | None) -> None:
    from .runner import run_turn  # as in tasks.py: the agent SDK loads where turns run

    try:
        run_turn(session_id, turn_id, prompt)
    except Exception:
        logger.exception("turn of session %s crashed", session_id)
    finally:
        close_old_connections()
