"""Choices of the integrations: providers, what a delivery asks for, and how it ended."""

from __future__ import annotations

from django.db import models


class Provider(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"


DEFAULT_API_URL = {
    Provider.GITHUB: "https://api.github.com",
    Provider.GITLAB: "https://gitlab.com/api/v4",
}


class TriggerKind(models.TextChoices):
    """What a delivery asks of the pull request's session."""

    PULL_REQUEST = "pull_request", "Pull/merge request opened, reopened or updated"
    CI_FAILURE = "ci_failure", "CI run failed"
    MENTION = "mention", "Comment mentioning the handle"


class Outcome(models.TextChoices):
    QUEUED = "queued", "Queued"
    STARTED = "started", "Started a session"
    CONTINUED = "continued", "Sent to the session"
    WAITING = "waiting", "Waiting for the session's turn to end"
    IGNORED = "ignored", "Ignored"
    UNSUPPORTED = "unsupported", "Unsupported event"
    PING = "ping", "Ping"
    REFUSED = "refused", "Signature refused"
    FAILED = "failed", "Failed"


DEFAULT_MENTION = "@claude"


class IntegrationAuditAction:
    """Audit actions of the integrations (tenants.services.record_audit). Kept here rather
    than in tenants.choices.AuditAction so the core needs no migration for a feature (as
    alerting does); the merge of the feature waves may fold them in."""

    CREATED = "integrations.created"
    CHANGED = "integrations.changed"
    DELETED = "integrations.deleted"
    REDELIVERED = "integrations.redelivered"
