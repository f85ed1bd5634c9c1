"""What the session list's rows show beyond a session's fields (`{% load session_list %}`), so
the row template (sessions/_session_row.html) renders the same wherever it is included."""

from __future__ import annotations

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def duration(session) -> str:
    """From the session's creation to its end, or to now while it lasts."""
    end = session.ended_at or timezone.now()
    return elapsed_label((end - session.created_at).total_seconds())


def elapsed_label(seconds: float) -> str:
    """Like "45 s", "3 min 4 s" or "2 h 5 min"; list.js has the same rule (running ones)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
