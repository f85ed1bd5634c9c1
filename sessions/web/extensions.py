"""Slots in the dashboard's pages that feature apps fill, so sessions never imports them.

A feature registers, in its `AppConfig.ready()`, a function for a slot; each returns HTML
(already escaped, e.g. from `render_to_string`) or "" for nothing. The slots:

- `session_new`: inside the new-session form, above its fields; called with `request`.
- `session_detail`: below a session's facts; called with `request` and `session`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils.safestring import SafeString, mark_safe

logger = logging.getLogger(__name__)

SLOTS = ("session_new", "session_detail")
_fillers: dict[str, list[Callable[..., str]]] = {slot: [] for slot in SLOTS}


def register(slot: str, filler: Callable[..., str]) -> None:
    if slot not in _fillers:
        raise ValueError(f"No dashboard slot {slot!r}; there are {', '.join(SLOTS)}.")
    if filler not in _fillers[slot]:
        _fillers[slot].append(filler)


def render(slot: str, **context) -> SafeString:
    """The slot's HTML from every filler, in registration order."""
    # The fillers answer escaped HTML (templates); joining keeps it so.
    return mark_safe("".join(filler(**context) for filler in _fillers[slot]))  # noqa: S308
