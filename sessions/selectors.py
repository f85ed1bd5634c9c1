"""Reads for sessions: every one takes the user it serves, so scoping can't be forgotten."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404

from tenants import org_settings
from tenants.choices import SessionVisibility
from tenants.models import User

from .models import CommandLog, Session, SessionMessage


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
