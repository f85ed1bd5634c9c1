from __future__ import annotations

from django.db import models


class SessionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PREPARING = "preparing", "Preparing workspace"
    RUNNING = "running", "Running"
    IDLE = "idle", "Idle"
    COMPLETED = "completed", "Completed"
    ERROR = "error", "Error"
    STOPPED = "stopped", "Stopped"
    # A pause, not an end: a budget ran out (billing). Raising the budget lets a follow-up
    # message resume the session.
    BUDGET_EXCEEDED = "budget_exceeded", "Budget exceeded"


# Which status may follow which. A completed session runs again on a follow-up message but
# cannot be stopped (it already ended: 409); error and stopped are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    # An attached session may first be heard of at any point of its Claude Code's life.
    SessionStatus.PENDING: frozenset(
        {
            SessionStatus.PREPARING,
            SessionStatus.RUNNING,
            SessionStatus.IDLE,
            SessionStatus.COMPLETED,
            SessionStatus.ERROR,
            SessionStatus.STOPPED,
            SessionStatus.BUDGET_EXCEEDED,
        }
    ),
    SessionStatus.PREPARING: frozenset(
        {SessionStatus.RUNNING, SessionStatus.IDLE, SessionStatus.ERROR, SessionStatus.STOPPED}
    ),
    SessionStatus.RUNNING: frozenset(
        {
            SessionStatus.IDLE,
            SessionStatus.COMPLETED,
            SessionStatus.ERROR,
            SessionStatus.STOPPED,
            SessionStatus.BUDGET_EXCEEDED,
        }
    ),
    SessionStatus.IDLE: frozenset(
        {
            SessionStatus.RUNNING,
            SessionStatus.COMPLETED,
            SessionStatus.ERROR,
            SessionStatus.STOPPED,
            SessionStatus.BUDGET_EXCEEDED,
        }
    ),
    SessionStatus.COMPLETED: frozenset({SessionStatus.RUNNING, SessionStatus.BUDGET_EXCEEDED}),
    # A follow-up resumes it once the budget has room (an attached one goes back to idle
    # when its budget is raised); it may still be stopped or fail.
    SessionStatus.BUDGET_EXCEEDED: frozenset(
        {SessionStatus.RUNNING, SessionStatus.IDLE, SessionStatus.STOPPED, SessionStatus.ERROR}
    ),
    SessionStatus.ERROR: frozenset(),
    SessionStatus.STOPPED: frozenset(),
}

ACTIVE_STATUSES = frozenset(
    {SessionStatus.PENDING, SessionStatus.PREPARING, SessionStatus.RUNNING, SessionStatus.IDLE}
)
ENDED_STATUSES = frozenset({SessionStatus.COMPLETED, SessionStatus.ERROR, SessionStatus.STOPPED})


class ProjectType(models.TextChoices):
    GITHUB = "github", "GitHub repository"
    LOCAL = "local", "Local folder"


class SessionMode(models.TextChoices):
    MANAGED = "managed", "Managed (the orchestrator runs Claude Code)"
    ATTACHED = "attached", "Attached (an external Claude Code reports through hooks)"


class Direction(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    SYSTEM = "system", "System"
