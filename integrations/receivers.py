"""What the integrations do when the core announces the end of a turn: if the session belongs
to a pull request, its comment is edited and what waited for the turn is handed over.

Receivers run in the thread that committed the turn's result: the ingest writer, which every
session of this process waits on. So the receiver only looks the pull request up (one indexed
read) and hands the rest to a thread of this process: the diff stat and the create-PR push
need the workspace, which lives on this worker's disk; that thread then queues the API work
(integrations.dispatch). A process that dies in between leaves that turn's comment unedited
(the next turn's edit brings it up to date)."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

from sessions.models import Session
from tenants.tenancy import tenant_context

from . import dispatch, pushing, report, services
from .models import PullRequestThread

logger = logging.getLogger(__name__)


def on_turn_finished(
    sender, *, session, input_tokens, output_tokens, cost_usd, duration_ms, **kwargs
) -> None:
    with tenant_context(session.organization_id):
        thread_id = (
            PullRequestThread.objects.filter(session=session).values_list("pk", flat=True).first()
        )
    if thread_id is None:
        return
    turn = {
        "input_tokens": int(input_tokens),
        "output_tokens": int(output_tokens),
        "cost_usd": str(cost_usd),
        "duration_ms": int(duration_ms or 0),
        "is_error": bool(kwargs.get("is_error")),
    }
    worker = threading.Thread(
        target=_report_turn,
        args=(session.pk, session.organization_id, thread_id, turn),
        name="integrations-report-turn",
        daemon=True,
    )
    worker.start()


def _report_turn(session_id, organization_id, thread_id, turn: dict) -> None:
    try:
        with tenant_context(organization_id):
            session = Session.objects.get(pk=session_id)
            thread = PullRequestThread.objects.select_related("integration").get(pk=thread_id)
            turn = {
                **turn,
                "summary": report.last_summary(session),
                "diff_stat": report.diff_stat(session),
            }
            # After the diff stat: pushing commits the changes, and the stat is of the turn's.
            turn.update(_pushed(session, thread, is_error=turn["is_error"]))
            dispatch.after_commit("finish_turn", thread_id, organization_id, turn)
    except Exception:
        logger.exception("integrations: the turn of session %s was not reported", session_id)
    finally:
        close_old_connections()


def _pushed(session, thread, *, is_error: bool) -> dict:
    """The create-PR option: push the turn's changes from this worker's workspace."""
    if is_error or not pushing.wants_pull_request(session):
        return {}
    try:
        branch = pushing.push_changes(
            session, source=services.clone_source(thread.integration), number=thread.number
        )
    except pushing.PushFailed as exc:
        logger.warning("integrations: changes of session %s not pushed: %s", session.pk, exc)
        return {"push_error": str(exc)}
    return {"pushed_branch": branch} if branch else {}
