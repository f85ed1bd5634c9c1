"""Domain signals: the extension points that feature apps connect to in `AppConfig.ready()`.

Each is sent once per committed event, after the transaction that recorded it commits, and
never for one that rolled back (`send_on_commit`). Every signal's sender is `Session` and
every receiver gets the `session`, plus:

- `session_created`: nothing more.
- `session_status_changed`: `old`, `new` (statuses) and `reason`.
- `tool_use_recorded`: `command_log`, the CommandLog written for the tool call.
- `message_recorded`: `message`, the SessionMessage written.
- `turn_finished`: `subtype`, `is_error`, `num_turns`, `input_tokens`, `output_tokens`,
  `cost_usd` (Claude Code's running total for its session, a Decimal) and `duration_ms`.

One more, sent by billing (not by the core) when spending crosses a budget's threshold (80 %
and 100 %), once per crossing and after the transaction that recorded the spending commits:

- `budget_threshold_reached`: sender `Session`; `organization_id`, `session` (None for an
  organization's budget), `scope` (what the budget covers: "session", "organization", ...),
  `threshold_percent` (an int), `spent` and `limit` (Decimals, in USD). Alerting reacts to it.

A receiver that raises is logged and skipped: the event is committed already, and neither
ingestion nor the other receivers may suffer for one feature's bug. Receivers that take time
(HTTP calls, heavy queries) queue a Celery task instead of running in the caller's thread.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

from .models import Session

logger = logging.getLogger(__name__)

session_created = Signal()
session_status_changed = Signal()
tool_use_recorded = Signal()
message_recorded = Signal()
turn_finished = Signal()
# Sent by billing (see above); declared here so features can connect before billing exists.
budget_threshold_reached = Signal()


def send_on_commit(signal: Signal, *, session: Session | None, **kwargs) -> None:
    """Send `signal` once the current transaction commits (right away outside one)."""
    if not signal.has_listeners(Session):
        return  # the hot path pays nothing for an extension point nobody uses
    transaction.on_commit(lambda: _send(signal, session=session, **kwargs))


def _send(signal: Signal, **kwargs) -> None:
    for receiver, outcome in signal.send_robust(sender=Session, **kwargs):
        if isinstance(outcome, Exception):
            logger.error(
                "signal receiver %s failed for session %s",
                getattr(receiver, "__qualname__", receiver),
                getattr(kwargs.get("session"), "pk", None),
                exc_info=outcome,
            )
