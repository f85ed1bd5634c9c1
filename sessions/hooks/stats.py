"""How hook posts fared, per organization and minute, for whoever watches delivery health
(alerting's `hook_delivery_failing`). Counted in Django's cache, which every server process
shares (Redis in production; process memory when embedded), so counting costs one `incr` on
the hook path and nothing is written to the database.

Outcomes: `accepted` (2xx), `refused` (4xx: a bad token, a closed session, the rate limit),
`failed` (5xx or an exception) and `replayed` (a 2xx for an event the hook client had spooled
while the server was unreachable and sent again later: its `X-Hook-Replay: 1` header).
"""

from __future__ import annotations

import time

from django.core.cache import cache

ACCEPTED, REFUSED, FAILED, REPLAYED = "accepted", "refused", "failed", "replayed"
OUTCOMES = (ACCEPTED, REFUSED, FAILED, REPLAYED)
# Counts are kept this long; `outcomes()` looks back at most this far.
KEEP_MINUTES = 60


def outcome_of(status: int, *, replayed: bool = False) -> str:
    if status >= 500:
        return FAILED
    if status >= 400:
        return REFUSED
    return REPLAYED if replayed else ACCEPTED


def _key(organization_id, outcome: str, minute: int) -> str:
    return f"hook-stats:{organization_id}:{outcome}:{minute}"


def record(organization_id, outcome: str) -> None:
    """Count one hook post of the organization (cheap: one cache `incr`, or an `add` when it
    opens a minute)."""
    if organization_id is None:
        return  # an unknown token names no organization: nobody's health to count
    key = _key(organization_id, outcome, int(time.time() // 60))
    try:
        cache.incr(key)
    except ValueError:  # the minute's first post (or its count expired meanwhile)
        if not cache.add(key, 1, timeout=(KEEP_MINUTES + 1) * 60):
            cache.incr(key)


def outcomes(organization_id, minutes: int) -> dict[str, int]:
    """How many posts of each outcome the organization had in the last `minutes` minutes
    (the current minute included)."""
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
