"""The reconciler: finds what crashes and bugs left behind and puts it right.

- A workspace folder whose session does not exist is removed.
- A workspace of a session that ended more than WORKSPACE_RETENTION_HOURS ago is removed.
- A session in `preparing` or `running` whose runner has been silent (no heartbeat) for
  STUCK_SESSION_AFTER_SECONDS goes to `error` with the reason.

Every action is a CleanupRecord (visible in the admin) and a structured log line. Runs as a
periodic Celery task and as `manage.py reconcile`. Safe to run twice at once: each action is
idempotent (removing a missing folder is a no-op; failing an ended session does nothing).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tenants.tenancy import platform_bypass

from . import services
from .choices import ENDED_STATUSES, SessionStatus
from .models import CleanupAction, Session
from .workspaces import folders
from .workspaces.agent_state import remove_agent_state

logger = logging.getLogger(__name__)


@dataclass
class Report:
    removed_workspaces: list[str] = field(default_factory=list)
    failed_sessions: list[str] = field(default_factory=list)


def reconcile(*, actor: str = "reconciler", dry_run: bool = False, now=None) -> Report:
    now = now or timezone.now()
    report = Report()
    # Platform work: every organization's sessions and folders, through the named bypass.
    with platform_bypass(f"reconcile sessions ({actor})"):
        _sweep_workspaces(report, actor=actor, dry_run=dry_run, now=now)
        _fail_stuck_sessions(report, actor=actor, dry_run=dry_run, now=now)
    return report


def _workspace_folders() -> list[tuple[Path, uuid.UUID | None, uuid.UUID | None]]:
    """(folder, organization id, session id) for every folder two levels under WORKSPACES_DIR;
    ids are None when the folder name is not one."""
    root = Path(settings.WORKSPACES_DIR)
    if not root.is_dir():
        return []
    return [
        (folder, _uuid(org.name), _uuid(folder.name))
        for org in root.iterdir()
        if org.is_dir()
        for folder in org.iterdir()
        if folder.is_dir()
    ]


def _uuid(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(name)
    except ValueError:
        return None


def _sweep_workspaces(report: Report, *, actor: str, dry_run: bool, now) -> None:
    found = _workspace_folders()
    ids = {session_id for _, _, session_id in found if session_id}
    sessions = Session.objects.in_bulk(ids) if ids else {}
    retention = now - timedelta(hours=settings.WORKSPACE_RETENTION_HOURS)
    for folder, org_id, session_id in found:
        session = sessions.get(session_id)
        if session is not None and session.organization_id != org_id:
            session = None  # a folder in the wrong organization's place belongs to no one
        if session is None:
            reason = "Workspace on disk with no session."
        elif session.status in ENDED_STATUSES and session.ended_at and session.ended_at < retention:
            reason = f"Session ended ({session.status}) and its retention passed."
        else:
            continue
        report.removed_workspaces.append(str(folder))
        if not dry_run:
            _remove(folder, session=session, org_id=org_id, actor=actor, reason=reason)


def _remove(folder: Path, *, session, org_id, actor: str, reason: str) -> None:
    if org_id and _uuid(folder.name):
        remove_agent_state(organization_id=org_id, session_id=_uuid(folder.name))
    if folders.remove_workspace(folder):
        services.record_cleanup(
            actor=actor,
            action=CleanupAction.WORKSPACE_REMOVED,
            session=session,
            organization_id=org_id,
            path=str(folder),
            reason=reason,
        )


def _fail_stuck_sessions(report: Report, *, actor: str, dry_run: bool, now) -> None:
    silent_since = now - timedelta(seconds=settings.STUCK_SESSION_AFTER_SECONDS)
    # Cloning has no heartbeat; give it as long as git is allowed to take.
    preparing_since = silent_since - timedelta(seconds=settings.WORKSPACE_GIT_TIMEOUT)
    stuck = Session.objects.filter(
        Q(status=SessionStatus.RUNNING) & _silent_since(silent_since)
        | Q(status=SessionStatus.PREPARING) & _silent_since(preparing_since)
    )
    for session in stuck:
        seen = session.heartbeat_at or session.updated_at
        reason = f"No live worker: the runner was last heard from at {seen.isoformat()}."
        report.failed_sessions.append(str(session.pk))
        if not dry_run:
            services.abandon_turn(session=session, actor=actor, reason=reason)


def _silent_since(moment) -> Q:
    return Q(heartbeat_at__lt=moment) | Q(heartbeat_at__isnull=True, updated_at__lt=moment)
