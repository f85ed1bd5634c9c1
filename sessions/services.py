"""Writes for sessions: the only place that changes a session, its messages and its logs."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from tenants.models import Organization, User

from .choices import ENDED_STATUSES, TRANSITIONS, Direction, SessionMode, SessionStatus
from .models import CommandLog, Session, SessionMessage
from .validators import validate_project

logger = logging.getLogger(__name__)


class SessionStateError(Exception):
    """The session's status does not allow what was asked (answered as 409)."""


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
) -> Session:
    project = validate_project(
        project_type=project_type, github_repo=github_repo, local_path=local_path
    )
    with transaction.atomic():
        session = Session.objects.create(
            organization=organization,
            created_by=actor,
            name=name,
            mode=mode,
            project_type=project_type,
            git_ref=git_ref,
            initial_prompt=initial_prompt,
            metadata=metadata or {},
            **project,
        )
        if initial_prompt:
            record_message(session=session, direction=Direction.USER, content=initial_prompt)
    logger.info("session created id=%s org=%s by=%s", session.pk, organization.slug, actor)
    return session


@transaction.atomic
def update_session(*, session: Session, actor: User, **changes) -> Session:
    allowed = {"name", "metadata"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"update_session cannot change {sorted(unknown)}")
    session = Session.objects.select_for_update().get(pk=session.pk)
    for field, value in changes.items():
        setattr(session, field, value)
    session.save(update_fields=[*changes, "updated_at"])
    return session


def stop_session(*, session: Session, actor: User | None, reason: str = "") -> Session:
    """Stop a session; stopping one that already ended is a state error."""
    reason = reason or (f"Stopped by {actor}." if actor else "Stopped.")
    return transition_session(session=session, to=SessionStatus.STOPPED, reason=reason)


@transaction.atomic
def transition_session(*, session: Session, to: str, reason: str = "") -> Session:
    """Move a session along its state machine, under a row lock so two movers never race."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    if to not in TRANSITIONS[session.status]:
        raise SessionStateError(
            f"A {session.status} session cannot become {to}."
            if session.status not in ENDED_STATUSES
            else f"The session already ended ({session.status})."
        )
    now = timezone.now()
    session.status = to
    session.status_reason = reason
    fields = ["status", "status_reason", "updated_at"]
    if to == SessionStatus.RUNNING and session.started_at is None:
        session.started_at = now
        fields.append("started_at")
    if to in ENDED_STATUSES:
        session.ended_at = now
        fields.append("ended_at")
    session.save(update_fields=fields)
    logger.info("session %s -> %s %s", session.pk, to, reason)
    return session


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
    return SessionMessage.objects.create(
        session=session, seq=allocate_seq(session), direction=direction, content=content
    )


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
    return CommandLog.objects.create(
        session=session,
        seq=allocate_seq(session),
        tool=tool,
        input=input,
        result=result,
        is_error=is_error,
        duration_ms=duration_ms,
        tool_use_id=tool_use_id,
    )
