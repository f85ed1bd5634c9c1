"""Reads for sessions: every one takes the user it serves, so scoping can't be forgotten."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.http import Http404

from tenants import org_settings
from tenants.choices import SessionVisibility
from tenants.models import User

from .choices import SessionStatus
from .ingest.events import tool_start_event
from .models import CommandLog, HookEvent, Session, SessionMessage, SessionTurn


def sessions_visible_to(user: User):
    """The one scoping entry point for sessions: the user's organization's, narrowed to their
    own when its settings say `sessionVisibility: own` (admins and superusers still see all)."""
    sessions = Session.objects.for_user(user).select_related("created_by", "organization")
    if _sees_only_own(user):
        sessions = sessions.filter(created_by=user)
    return sessions


def _sees_only_own(user: User) -> bool:
    if not user.is_authenticated or user.is_superuser or user.is_org_admin:
        return False
    visibility = org_settings.session_visibility(user.organization)
    return visibility == SessionVisibility.OWN


def get_session_for(user: User, session_id) -> Session:
    """The session if the user may see it; 404 otherwise (never 403: no existence leak)."""
    try:
        return sessions_visible_to(user).get(pk=session_id)
    except (Session.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such session.") from None


def events_after(
    model: type[CommandLog | SessionMessage], session: Session, after: int, limit: int
):
    """Up to `limit` events of one kind after the cursor `after`, in seq order."""
    return list(model.objects.filter(session=session, seq__gt=after).order_by("seq")[:limit])


# Which models a session used, as a feature app learns it (billing: its token charges, the
# only record an attached session has); registered in the feature's AppConfig.ready().
ModelSource = Callable[[Session], Iterable[str]]
_model_sources: dict[str, ModelSource] = {}


def register_model_source(name: str, source: ModelSource) -> None:
    _model_sources[name] = source


def models_seen(session: Session) -> list[str]:
    """The model ids the session's Claude Code was seen using: its turn results' per-model
    usage, then each registered source. For the operator console (platform-wide)."""
    usage = session.model_usage if isinstance(session.model_usage, dict) else {}
    seen = set(usage)
    for source in _model_sources.values():
        seen.update(source(session))
    return sorted(str(name) for name in seen if name)


# --- the live activity of a turn -------------------------------------------------------------

RUNNING_TOOLS_SHOWN = 20


def turns_of(session: Session, after: int = 0) -> list[SessionTurn]:
    """The session's ended turns numbered above `after`, in order."""
    turns = SessionTurn.objects.filter(session=session, number__gt=after)
    return list(turns.order_by("number"))


def running_tools(session: Session, turns: list[SessionTurn]) -> list[dict]:
    """The tool calls of the turn in progress that began and have no log row yet, as
    `tool_start` live events: what a page opened mid-call shows as running."""
    if session.status != SessionStatus.RUNNING:
        return []
    starts = HookEvent.objects.filter(session=session, hook_event_name="PreToolUse")
    if turns:
        starts = starts.filter(created_at__gte=turns[-1].ended_at)
    events = [
        tool_start_event(start.payload, start.created_at)
        for start in reversed(starts.order_by("-id")[:RUNNING_TOOLS_SHOWN])
    ]
    events = [event for event in events if event["tool_use_id"]]
    ids = [event["tool_use_id"] for event in events]
    logged = set(
        CommandLog.objects.filter(session=session, tool_use_id__in=ids).values_list(
            "tool_use_id", flat=True
        )
    )
    return [event for event in events if event["tool_use_id"] not in logged]
