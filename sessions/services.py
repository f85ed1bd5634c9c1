"""Writes for sessions: the only place that changes a session, its messages and its logs."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants import json_rules, quotas
from tenants import selectors as tenant_selectors
from tenants.choices import AuditAction
from tenants.encryption import SecretUnreadable
from tenants.models import Organization, User
from tenants.services import record_audit

from . import signals, turns
from .choices import ENDED_STATUSES, TRANSITIONS, Direction, SessionMode, SessionStatus
from .hooks import tokens as hook_tokens
from .live import feed
from .models import (
    CleanupAction,
    CleanupRecord,
    CommandLog,
    Session,
    SessionMessage,
    session_budget,
)
from .validators import validate_agent_metadata, validate_new_session_metadata, validate_project
from .workspaces import folders
from .workspaces.agent_state import remove_agent_state
from .workspaces.git import GitCredential

logger = logging.getLogger(__name__)


class SessionStateError(Exception):
    """The session's status does not allow what was asked (answered as 409)."""


# What a follow-up to an auto-close session (metadata `autoClose`, set by its template) hears.
AUTO_CLOSE_REFUSAL = (
    "This session closes after its first turn (autoClose, from its template) and takes no "
    "follow-up messages; start a new session instead."
)


def create_session(
    *,
    organization: Organization,
    actor: User,
    name: str,
    project_type: str,
    github_repo: str = "",
    local_path: str = "",
    git_ref: str = "",
    initial_prompt: str = "",
    mode: str = SessionMode.MANAGED,
    metadata: dict | None = None,
    budget_limit: Decimal | None = None,
) -> Session:
    """Create a session. A managed one is written as `preparing` and its first turn (which
    prepares the workspace) is queued after commit; an attached one waits for its hooks, and
    its new hook token is on `session.new_hook_token`, the one time it can be read."""
    project = validate_project(
        organization=organization,
        project_type=project_type,
        github_repo=github_repo,
        local_path=local_path,
    )
    metadata = validate_new_session_metadata(metadata or {}, actor=actor, organization=organization)
    managed = mode == SessionMode.MANAGED
    session_id, turn_id = uuid.uuid4(), uuid.uuid4() if managed else None
    token = "" if managed else hook_tokens.new_token(session_id)
    with transaction.atomic():
        _check_quotas(organization, with_workspace=managed)
        session = Session.objects.create(
            id=session_id,
            organization=organization,
            created_by=actor,
            name=name,
            mode=mode,
            project_type=project_type,
            git_ref=git_ref,
            initial_prompt=initial_prompt,
            metadata=metadata,
            budget_limit=budget_limit,
            status=SessionStatus.PREPARING if managed else SessionStatus.PENDING,
            scripted_model=managed and settings.SCRIPTED_MODEL,
            hook_token_hash=hook_tokens.token_hash(token) if token else "",
            current_turn=turn_id,
            **project,
        )
        signals.send_on_commit(signals.session_created, session=session)
        record_audit(
            action=AuditAction.SESSION_CREATED,
            actor=actor,
            organization=organization,
            target=session,
            details={"mode": mode, "project_type": project_type},
        )
        if initial_prompt:
            record_message(session=session, direction=Direction.USER, content=initial_prompt)
        if managed:
            transaction.on_commit(lambda: turns.request_turn(session.pk, turn_id, initial_prompt))
    logger.info("session created id=%s org=%s by=%s", session.pk, organization.slug, actor)
    session.new_hook_token = token
    return session


def _check_quotas(organization: Organization, *, with_workspace: bool) -> None:
    """Refuse a session over the organization's quotas (QuotaExceeded, a 429).

    The organization's row is locked first, in the transaction that creates the session:
    concurrent creates of one organization queue here, and each counts after the previous
    one committed, so fifty at once never pass a limit of five. Other organizations wait for
    nothing."""
    Organization.objects.select_for_update().only("pk").get(pk=organization.pk)
    quotas.check_new_session(organization, with_workspace=with_workspace)


def rotate_hook_token(*, session: Session, actor: User) -> str:
    """Give an attached session a new hook token; the old one stops working at once. The
    new token is returned, the one time it can be read."""
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.mode != SessionMode.ATTACHED:
            raise SessionStateError(
                "A managed session has no hook token: its runner records its events in-process."
            )
        if locked.status in (SessionStatus.STOPPED, SessionStatus.ERROR):
            raise SessionStateError(
                f"The session is {locked.status}; a new hook token could record nothing."
            )
        token = hook_tokens.new_token(locked.pk)
        locked.hook_token_hash = hook_tokens.token_hash(token)
        locked.save(update_fields=["hook_token_hash", "updated_at"])
    logger.info("hook token of session %s rotated by %s", session.pk, actor)
    return token


def send_message(*, session: Session, actor: User, content: str) -> SessionMessage:
    """A follow-up: record the user's message and queue a turn that resumes the session."""
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.mode != SessionMode.MANAGED:
            raise SessionStateError(
                "An attached session is driven by its own Claude Code; send it messages there."
            )
        if locked.metadata.get("autoClose") is True:
            raise SessionStateError(AUTO_CLOSE_REFUSAL)
        if locked.status == SessionStatus.BUDGET_EXCEEDED:
            _check_budget_room(locked)
        elif locked.status not in (SessionStatus.IDLE, SessionStatus.COMPLETED):
            raise SessionStateError(
                f"The session is {locked.status}; wait for the current turn to finish."
                if locked.status not in ENDED_STATUSES
                else f"The session already ended ({locked.status})."
            )
        fields = apply_status(locked, SessionStatus.RUNNING, "Follow-up message.")
        turn_id = locked.current_turn = uuid.uuid4()
        locked.turn_claimed_at = None
        locked.save(update_fields=[*fields, "current_turn", "turn_claimed_at", "updated_at"])
        on_commit_publish_status(locked)
        message = record_message(session=locked, direction=Direction.USER, content=content)
        transaction.on_commit(lambda: turns.request_turn(locked.pk, turn_id, content))
    return message


def _check_budget_room(session: Session) -> None:
    """A session paused by its budget resumes only once the budget has room again (an
    organization's or user's budget is checked by billing at the next tool call)."""
    limit = session_budget(session)
    if limit is not None and session.cost_usd >= limit:
        raise SessionStateError(
            f"The session has spent its budget (${session.cost_usd} of ${limit}); "
            "raise budget_limit before sending a follow-up."
        )


def prepare_session_workspace(*, session: Session) -> Session:
    """Make the workspace of a `preparing` session. On failure nothing stays on disk and the
    session ends in `error` with git's message."""
    # Read now: the organization's roots or credential may have changed since creation.
    organization = Organization.objects.get(pk=session.organization_id)
    try:
        path = folders.prepare_workspace(
            organization_id=session.organization_id,
            session_id=session.pk,
            project_type=session.project_type,
            github_repo=session.github_repo,
            git_ref=session.git_ref,
            local_path=session.local_path,
            shallow=bool(session.metadata.get("shallow")),
            local_roots=tenant_selectors.local_roots_of(organization),
            credential=_git_credential_of(organization),
        )
    except (folders.WorkspaceError, SecretUnreadable) as exc:
        reason = f"Workspace preparation failed: {exc}"
        # prepare_workspace removed whatever it had made; say so where operators look.
        record_cleanup(
            actor="runner",
            action=CleanupAction.WORKSPACE_REMOVED,
            session=session,
            path=str(_workspace_of(session)),
            reason=reason,
        )
        return fail_session(session=session, reason=reason)
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        locked.project_path = str(path)
        locked.save(update_fields=["project_path", "updated_at"])
    if locked.status != SessionStatus.PREPARING:
        # Stopped while cloning: the workspace has no session to serve.
        remove_session_workspace(
            session=locked, actor="runner", reason="The session ended while it was prepared."
        )
    return locked


def _git_credential_of(organization: Organization) -> GitCredential | None:
    """The organization's own credential: no other organization's clone ever sees it."""
    stored = tenant_selectors.git_credential_of(organization)
    if stored is None:
        return None
    return GitCredential(host=stored.host, username=stored.username, token=stored.token)


def _workspace_of(session: Session):
    return folders.workspace_path(organization_id=session.organization_id, session_id=session.pk)


def remove_session_workspace(*, session: Session, actor: str, reason: str) -> bool:
    """Remove a session's workspace (if any) and its Claude state (which only resumes in that
    workspace), and record it; True if a workspace went."""
    path = _workspace_of(session)
    removed = folders.remove_workspace(path)
    remove_agent_state(organization_id=session.organization_id, session_id=session.pk)
    if removed:
        record_cleanup(
            actor=actor,
            action=CleanupAction.WORKSPACE_REMOVED,
            session=session,
            path=str(path),
            reason=reason,
        )
    return removed


def record_cleanup(
    *,
    actor: str,
    action: str,
    reason: str,
    session: Session | None = None,
    path: str = "",
    organization_id=None,
) -> CleanupRecord:
    """The trail of every compensation and reconciliation: a row and a structured log line."""
    record = CleanupRecord.objects.create(
        actor=actor,
        action=action,
        session_id=session.pk if session else None,
        organization_id=session.organization_id if session else organization_id,
        path=path,
        reason=reason[:5000],
    )
    logger.warning(
        "cleanup %s",
        json.dumps(
            {
                "action": action,
                "actor": actor,
                "session": str(record.session_id or ""),
                "path": path,
                "reason": reason[:500],
            }
        ),
    )
    return record


def claim_turn(*, session_id, turn_id) -> bool:
    """Claim a queued turn for this worker; False if it must not run here.

    A task may be delivered twice (late acknowledgement: a worker that died is redelivered
    its task). The conditional update lets only one delivery run the turn. A redelivery that
    finds its turn claimed but the heartbeat silent knows the first worker died mid-turn: it
    ends the session in error instead of running the agent's tools a second time."""
    now = timezone.now()
    claimed = Session.objects.filter(
        pk=session_id, current_turn=turn_id, turn_claimed_at__isnull=True
    ).update(turn_claimed_at=now, heartbeat_at=now)
    if claimed:
        return True
    session = Session.objects.get(pk=session_id)
    if str(session.current_turn) != str(turn_id) or session.status in ENDED_STATUSES:
        return False  # superseded by a later turn, or over
    if session.heartbeat_at and session.heartbeat_at > now - _stuck_after():
        return False  # the first delivery is alive and running it
    abandon_turn(
        session=session,
        actor="runner",
        reason=("The worker running this turn stopped mid-turn (it died or was killed)."),
    )
    return False


def _stuck_after() -> timedelta:
    return timedelta(seconds=settings.STUCK_SESSION_AFTER_SECONDS)


def abandon_turn(*, session: Session, actor: str, reason: str) -> Session:
    """End a session whose turn has no live worker, removing a half-prepared workspace."""
    was_preparing = session.status == SessionStatus.PREPARING
    session = fail_session(session=session, reason=reason)
    record_cleanup(actor=actor, action=CleanupAction.SESSION_FAILED, session=session, reason=reason)
    if was_preparing:
        remove_session_workspace(session=session, actor=actor, reason=reason)
    return session


def fail_session(*, session: Session, reason: str) -> Session:
    """End a session in `error` unless it already ended (a stop wins over a late failure)."""
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        # A turn interrupted because its budget ran out may end in an error: the pause stands.
        if locked.status in ENDED_STATUSES or locked.status == SessionStatus.BUDGET_EXCEEDED:
            return locked
        fields = apply_status(locked, SessionStatus.ERROR, reason[:5000])
        locked.save(update_fields=[*fields, "updated_at"])
        on_commit_publish_status(locked)
    logger.warning("session %s failed: %s", session.pk, reason)
    return locked


def mark_unsandboxed(*, session: Session) -> None:
    """Label a session whose Claude Code runs outside the jail (AGENT_SANDBOX auto or off);
    the label stays: what ran unjailed could have seen the host."""
    if not session.unsandboxed:
        Session.objects.filter(pk=session.pk).update(unsandboxed=True)
        session.unsandboxed = True
        logger.warning("session %s runs Claude Code unsandboxed", session.pk)


def record_heartbeat(*, session_id) -> str:
    """The runner's sign of life; answers the session's status so a stop is noticed."""
    Session.objects.filter(pk=session_id).update(heartbeat_at=timezone.now())
    return Session.objects.values_list("status", flat=True).get(pk=session_id)


@transaction.atomic
def update_session(*, session: Session, actor: User, **changes) -> Session:
    allowed = {"name", "metadata", "budget_limit"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"update_session cannot change {sorted(unknown)}")
    session = Session.objects.select_for_update().get(pk=session.pk)
    if "metadata" in changes:
        changes["metadata"] = validate_agent_metadata(
            changes["metadata"],
            actor=actor,
            organization=session.organization,
            current=session.metadata,
        )
    for field, value in changes.items():
        setattr(session, field, value)
    fields = [*changes, *_resume_attached(session)]
    session.save(update_fields=[*fields, "updated_at"])
    if "status" in fields:
        on_commit_publish_status(session)
    return session


def _resume_attached(session: Session) -> list[str]:
    """An attached session paused by its budget goes back to idle once the budget has room
    again (its Claude Code asks before each tool call; a managed one resumes on a follow-up)."""
    if session.mode != SessionMode.ATTACHED or session.status != SessionStatus.BUDGET_EXCEEDED:
        return []
    limit = session_budget(session)
    if limit is not None and session.cost_usd >= limit:
        return []
    return apply_status(session, SessionStatus.IDLE, "Budget raised.")


def stop_session(*, session: Session, actor: User | None, reason: str = "") -> Session:
    """Stop a session; stopping one that already ended is a state error."""
    reason = reason or (f"Stopped by {actor}." if actor else "Stopped.")
    with transaction.atomic():
        session = transition_session(session=session, to=SessionStatus.STOPPED, reason=reason)
        record_audit(
            action=AuditAction.SESSION_STOPPED,
            actor=actor,
            organization=session.organization,
            target=session,
            details={"reason": reason[:500]},
        )
    return session


@transaction.atomic
def transition_session(*, session: Session, to: str, reason: str = "") -> Session:
    """Move a session along its state machine, under a row lock so two movers never race."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    fields = apply_status(session, to, reason)
    session.save(update_fields=[*fields, "updated_at"])
    logger.info("session %s -> %s %s", session.pk, to, reason)
    on_commit_publish_status(session)
    return session


def apply_status(session: Session, to: str, reason: str = "") -> list[str]:
    """Set the new status on a locked session in memory; the fields to save. Call it inside
    the transaction that saves them: `session_status_changed` goes out when that commits.

    Raises SessionStateError when the state machine does not allow the move."""
    if to not in TRANSITIONS[session.status]:
        raise SessionStateError(
            f"The session already ended ({session.status})."
            if session.status in ENDED_STATUSES
            else f"A {session.status} session cannot become {to}."
        )
    now, old = timezone.now(), session.status
    session.status = to
    session.status_reason = reason
    signals.send_on_commit(
        signals.session_status_changed, session=session, old=old, new=to, reason=reason
    )
    fields = ["status", "status_reason"]
    if to == SessionStatus.RUNNING and session.started_at is None:
        session.started_at = now
        fields.append("started_at")
    if to in ENDED_STATUSES:
        session.ended_at = now
        fields.append("ended_at")
    return fields


def on_commit_publish_status(session: Session) -> None:
    event = {"kind": "status", "status": session.status, "reason": session.status_reason}
    session_id = session.pk
    transaction.on_commit(lambda: feed.publish(session_id, event))


def allocate_seq(session: Session) -> int:
    """The session's next seq. Call inside the transaction that writes the event: the row
    lock serializes writers and a rollback gives the number back, so seqs stay gap-free."""
    locked = Session.objects.select_for_update().only("last_seq").get(pk=session.pk)
    locked.last_seq += 1
    Session.objects.filter(pk=session.pk).update(last_seq=locked.last_seq)
    session.last_seq = locked.last_seq
    return locked.last_seq


@transaction.atomic
def record_message(*, session: Session, direction: str, content: str) -> SessionMessage:
    message = SessionMessage.objects.create(
        session=session,
        organization_id=session.organization_id,
        seq=allocate_seq(session),
        direction=direction,
        content=content,
    )
    on_commit_publish(session, message)
    signals.send_on_commit(signals.message_recorded, session=session, message=message)
    return message


def on_commit_publish(session: Session, row: CommandLog | SessionMessage) -> None:
    session_id, event = session.pk, row.as_event()
    transaction.on_commit(lambda: feed.publish(session_id, event))


@transaction.atomic
def record_command(
    *,
    session: Session,
    tool: str,
    input: dict,
    result: str = "",
    is_error: bool = False,
    duration_ms: int | None = None,
    tool_use_id: str = "",
) -> CommandLog:
    log = CommandLog.objects.create(
        session=session,
        organization_id=session.organization_id,
        seq=allocate_seq(session),
        tool=tool,
        input=input,
        result=result,
        result_bytes=len(result.encode()),
        input_bytes=json_rules.byte_size(input),
        is_error=is_error,
        duration_ms=duration_ms,
        tool_use_id=tool_use_id,
    )
    on_commit_publish(session, log)
    signals.send_on_commit(signals.tool_use_recorded, session=session, command_log=log)
    return log
