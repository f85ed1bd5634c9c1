"""Human durations ('2 hours', '90 minutes', '1h30m', '45s') as whole seconds: the seed's
`maxDuration: '2 hours'`, as sessions take it (seconds)."""

from __future__ import annotations

import re

UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_PART = re.compile(r"(\d{1,7})\s*([a-z]+)")
_JOINERS = re.compile(r"\s+|,|\band\b")
MAX_TEXT = 100


class NotADuration(ValueError):
    pass


def seconds(value: object) -> int:
    """Whole seconds from an int or a human duration; NotADuration for anything else. Bounds
    are the sessions' rule (agent options), checked after."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise NotADuration("a number of seconds or a duration such as '2 hours' or '1h30m'")
    text = value.strip().lower()
    if text.isdigit():
        return int(text)
    total = 0
    for amount, unit in _PART.findall(text):
        if unit not in UNITS:
            raise NotADuration(f"unknown unit {unit!r} (use seconds, minutes, hours or days)")
        total += int(amount) * UNITS[unit]
    rest = _JOINERS.sub("", _PART.sub("", text))
    if rest or not total:
        raise NotADuration(f"{value!r} is not a duration such as '2 hours' or '1h30m'")
    return total
