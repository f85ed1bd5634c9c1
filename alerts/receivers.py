"""What alerting does when the core (or billing) announces something. Receivers run in the
thread that committed the event: they write the alert (a few rows) and hand the rest
(grouping, HTTP calls) to the background (alerts.dispatch)."""

from __future__ import annotations

import logging

from sessions.choices import SessionStatus

from . import dispatch, engine

logger = logging.getLogger(__name__)


def on_session_status_changed(sender, *, session, new, **kwargs) -> None:
    if new != SessionStatus.ERROR:
        return
    if engine.on_session_failed(session):
        dispatch.schedule_flush(session.organization_id)


def on_budget_threshold_reached(
    sender, *, organization_id, session, scope, threshold_percent, spent, limit, **kwargs
) -> None:
    fired = engine.on_budget_threshold(
        organization_id=organization_id,
        session=session,
        scope=scope,
        threshold_percent=int(threshold_percent),
        spent=spent,
        limit=limit,
    )
    if fired:
        dispatch.schedule_flush(organization_id)
