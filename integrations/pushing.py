"""A template's create-PR option (metadata `createPullRequest: true`): after a turn of a pull
request's session, what the agent changed in the workspace is committed and pushed to a branch
of the integration's repository, with the organization's git credential, through the same
checked git as a clone (sessions/workspaces/git.py: an argument list, an allow-listed
environment, the one protocol, the checked addresses pinned, no redirects, secrets redacted).

It runs where the turn ran (the workspace is on that worker's disk), from the turn_finished
receiver; opening the pull (merge) request is an API call the background task makes."""

from __future__ import annotations

import logging
from pathlib import Path

from sessions.models import Session
from sessions.workspaces.git import Git, GitCredential, GitError
from sessions.workspaces.sources import HostUnresolvable, SourceRefused, check_git_source
from tenants import selectors as tenant_selectors
from tenants.encryption import SecretUnreadable

logger = logging.getLogger(__name__)

AUTHOR = ("claude-orchestrator", "claude-orchestrator@users.noreply.localhost")


class PushFailed(Exception):
    """The changes could not be pushed; the message is safe to show (secrets redacted)."""


def wants_pull_request(session: Session) -> bool:
    return session.metadata.get("createPullRequest") is True


def branch_for(session: Session, number: int) -> str:
    return f"claude/pr-{int(number)}-{str(session.pk)[:8]}"


def push_changes(session: Session, *, source: str, number: int) -> str:
    """Commit the workspace's changes and push them to `branch_for(...)` of `source`; the
    branch, or "" when nothing changed. PushFailed when git refuses."""
    path = Path(session.project_path) if session.project_path else None
    if path is None or not (path / ".git").exists():
        return ""
    git, url = _git_for(source, session)
    local = ["-C", str(path), "-c", f"safe.directory={path}"]
    try:
        changed = git.run([*local, "status", "--porcelain"], what="read the changes").stdout
        if not changed.strip():
            return ""
        git.run([*local, "add", "-A"], what="stage the changes")
        name, email = AUTHOR
        identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
        message = f"Changes by claude-orchestrator session {session.pk} for #{number}"
        git.run([*local, *identity, "commit", "-q", "-m", message], what="commit the changes")
        branch = branch_for(session, number)
        git.run([*local, "push", "-q", "--", url, f"HEAD:refs/heads/{branch}"], what="push")
    except GitError as exc:
        raise PushFailed(str(exc)) from None
    return branch


def _git_for(source: str, session: Session) -> tuple[Git, str]:
    try:
        checked = check_git_source(source, require_resolution=True)
    except (SourceRefused, HostUnresolvable) as exc:
        raise PushFailed(f"Cannot push to {source!r}: {exc}") from None
    git = Git(
        protocol=checked.protocol,
        host=checked.host,
        pinned=checked.pinned,
        credential=_credential_of(session),
    )
    return git, checked.url


def _credential_of(session: Session) -> GitCredential | None:
    """The session's organization's own credential (as its clone used), never another's."""
    try:
        stored = tenant_selectors.git_credential_of(session.organization)
    except SecretUnreadable as exc:
        raise PushFailed(str(exc)) from None
    if stored is None:
        return None
    return GitCredential(host=stored.host, username=stored.username, token=stored.token)
