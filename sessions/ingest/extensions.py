"""Meters: what a feature app adds to the ingestion transaction itself (billing: costs).

Signals run after commit, which is too late for what must change together with the events:
a session's cost, an organization's period totals, a tool call's price and the budget check
that decides whether the next tool call runs. A feature registers a meter factory in its
`AppConfig.ready()`:

    from sessions.ingest import extensions
    extensions.register_meter("billing", BillingMeter)

Each batch (one organization, one transaction) makes one meter per registered factory,
`factory(organization_id, now)`, and calls it on the locked sessions, in event order:

- `admit(write, payload, fresh=...)`: a PreToolUse the policies allowed; return a
  `policies.Decision` to deny it. `fresh` is False for a repeated delivery of an event
  recorded before: decide again, but charge nothing twice.
- `tool_logged(write, log)`: a CommandLog of a tool call that ran was built (unsaved; set
  its `cost_usd`). Denied calls are not passed.
- `assistant_usage(write, payload)`: an assistant message arrived with its `usage`,
  `model` and `message_id`.
- `finish(writes)`: once, after the batch's events, before its rows and sessions are
  written: the place for the batch's own statements (at most a few per batch, never one per
  event).

A meter works on `write.session` (the locked row; add a changed field to `write.fields` and
it is saved with the batch) and must be cheap: the writer and every hook caller wait for it.
No meter registered costs nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..models import CommandLog
    from ..policies import Decision

# events.SessionWrite (the locked session of one batch); named, not imported: events imports
# this module.
SessionWrite = Any


class Meter(Protocol):
    def admit(self, write: SessionWrite, payload: dict, *, fresh: bool) -> Decision | None: ...

    def tool_logged(self, write: SessionWrite, log: CommandLog) -> None: ...

    def assistant_usage(self, write: SessionWrite, payload: dict) -> None: ...

    def finish(self, writes: list[SessionWrite]) -> None: ...


MeterFactory = Callable[[uuid.UUID, datetime], Meter]
_factories: dict[str, MeterFactory] = {}


def register_meter(name: str, factory: MeterFactory) -> None:
    _factories[name] = factory


def unregister_meter(name: str) -> None:
    _factories.pop(name, None)


class Meters:
    """The batch's meters, called in registration order."""

    def __init__(self, meters: list[Meter]) -> None:
        self.meters = meters

    def admit(self, write: SessionWrite, payload: dict, *, fresh: bool) -> Decision | None:
        for meter in self.meters:
            decision = meter.admit(write, payload, fresh=fresh)
            if decision is not None and not decision.allow:
                return decision
        return None

    def tool_logged(self, write: SessionWrite, log: CommandLog) -> None:
        for meter in self.meters:
            meter.tool_logged(write, log)

    def assistant_usage(self, write: SessionWrite, payload: dict) -> None:
        for meter in self.meters:
            meter.assistant_usage(write, payload)

    def finish(self, writes: list[SessionWrite]) -> None:
        for meter in self.meters:
            meter.finish(writes)


NO_METERS = Meters([])


def start(organization_id: uuid.UUID, now: datetime) -> Meters:
    """The meters of one batch."""
    if not _factories:
        return NO_METERS
    return Meters([factory(organization_id, now) for factory in _factories.values()])
