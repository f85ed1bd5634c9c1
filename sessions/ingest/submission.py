"""What travels between a caller and the writer: one event waiting for its batch, and what
its caller is answered."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field


class IngestRefused(Exception):
    """The event was not recorded; `status` is the HTTP answer a hook post gets for it."""

    status = 400

    def __init__(self, detail: str, *, status: int | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.status = status or self.status
        self.headers = headers or {}


class IngestError(IngestRefused, ValueError):
    """The payload is not something ingestion can take (answered as 400)."""


@dataclass
class IngestResult:
    duplicate: bool = False
    seq: int | None = None
    # What Claude Code should be told; for PreToolUse, the decision.
    response: dict = field(default_factory=dict)


@dataclass
class Submission:
    """One validated event on its way into a batch."""

    session_id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    payload: dict
    key: str
    # Hook posts: the digest of the token presented. The writer compares it with the locked
    # session row, so a rotated or revoked token records nothing from the next post on, in
    # every process, whatever a process's credential cache still holds. None: in-process.
    token_hash: str | None = None
    future: Future = field(default_factory=Future)
    # Async callers (the ASGI hook route) wait on their event loop instead: the writer
    # settles a batch's waiters with one wake-up per loop, not one per event.
    waiter: asyncio.Future | None = None

    @property
    def via_hook(self) -> bool:
        return self.token_hash is not None

    @property
    def asks_decision(self) -> bool:
        return self.name == "PreToolUse"


Outcome = IngestResult | IngestRefused
