"""How hook posts fared, per organization and minute, for whoever watches delivery health
(alerting's `hook_delivery_failing`). Counted in Django's cache, which every server process
shares (Redis in production; process memory when embedded). The hook path only updates a
counter in memory; each process adds its counts to the cache every FLUSH_SECONDS, and
nothing is written to the database.

Outcomes: `accepted` (2xx), `refused` (4xx: a bad token, a closed session, the rate limit),
`failed` (5xx or an exception) and `replayed` (a 2xx for an event the hook client had spooled
while the server was unreachable and sent again later: its `X-Hook-Replay: 1` header).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter

from django.core.cache import cache

logger = logging.getLogger(__name__)

ACCEPTED, REFUSED, FAILED, REPLAYED = "accepted", "refused", "failed", "replayed"
OUTCOMES = (ACCEPTED, REFUSED, FAILED, REPLAYED)
# Counts are kept this long; `outcomes()` looks back at most this far.
KEEP_MINUTES = 60
# How often a process adds its counts to the shared cache.
FLUSH_SECONDS = 2.0


def outcome_of(status: int, *, replayed: bool = False) -> str:
    if status >= 500:
        return FAILED
    if status >= 400:
        return REFUSED
    return REPLAYED if replayed else ACCEPTED


def _key(organization_id, outcome: str, minute: int) -> str:
    return f"hook-stats:{organization_id}:{outcome}:{minute}"


def record(organization_id, outcome: str) -> None:
    """Count one hook post of the organization: in this process's memory (the hook path
    pays a dictionary update, not a round trip to Redis, and never blocks the ASGI route's
    event loop); a thread adds the counts to the shared cache every FLUSH_SECONDS."""
    if organization_id is None:
        return  # an unknown token names no organization: nobody's health to count
    with _lock:
        _pending[(str(organization_id), outcome, int(time.time() // 60))] += 1
    _flusher.start_once()


def flush() -> None:
    """Add this process's pending counts to the shared cache."""
    with _lock:
        pending = dict(_pending)
        _pending.clear()
    for (organization_id, outcome, minute), count in pending.items():
        key = _key(organization_id, outcome, minute)
        if not cache.add(key, count, timeout=(KEEP_MINUTES + 1) * 60):
            try:
                cache.incr(key, count)
            except ValueError:  # expired between add and incr
                cache.set(key, count, timeout=(KEEP_MINUTES + 1) * 60)


class _Flusher:
    def __init__(self) -> None:
        self._pid = 0

    def start_once(self) -> None:
        if self._pid == os.getpid():
            return
        with _lock:
            if self._pid != os.getpid():  # a forked worker starts its own
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="hook-stats", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                flush()
            except Exception:  # a cache outage must not end the counting
                logger.warning("hook delivery counts could not be flushed", exc_info=True)


_lock = threading.Lock()
_pending: Counter[tuple[str, str, int]] = Counter()
_flusher = _Flusher()


def outcomes(organization_id, minutes: int) -> dict[str, int]:
    """How many posts of each outcome the organization had in the last `minutes` minutes
    (the current minute included): every process's counts up to FLUSH_SECONDS ago, and this
    process's own up to now."""
    flush()
    minutes = max(1, min(int(minutes), KEEP_MINUTES))
    now = int(time.time() // 60)
    keys = {
        _key(organization_id, outcome, minute): outcome
        for outcome in OUTCOMES
        for minute in range(now - minutes + 1, now + 1)
    }
    counts = dict.fromkeys(OUTCOMES, 0)
    for key, value in cache.get_many(list(keys)).items():
        counts[keys[key]] += int(value)
    return counts
