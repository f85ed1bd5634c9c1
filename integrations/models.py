"""Integrations: a repository or project on GitHub or GitLab whose webhooks start and continue
sessions, the deliveries it received, and the one continuing session of each pull or merge
request.

Every table carries its organization and is held by row-level security (migration 0001).
Foreign keys between tenant rows are composite, (id, organization), so one organization can
never attach a row to another's (keys are checked without row security)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants.json_rules import SafeJSONField
from tenants.models import Organization, TenantQuerySet

from .choices import DEFAULT_MENTION, Outcome, Provider, TriggerKind


class Integration(models.Model):
    """One repository (GitHub) or project (GitLab) of an organization."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="integrations"
    )
    provider = models.CharField(max_length=10, choices=Provider.choices)
    # The provider's REST API base: https://api.github.com, https://ghe.example.com/api/v3,
    # https://gitlab.com/api/v4 or a self-managed GitLab's.
    api_url = models.URLField(max_length=500)
    # owner/name on GitHub, the project's full path on GitLab (group/subgroup/name).
    repository = models.CharField(max_length=300)
    # Where sessions clone from; blank: the repository on GIT_BASE_URL (GitHub) or on the
    # GitLab host of api_url. Checked by the sessions' source rules like any source.
    clone_url = models.CharField(max_length=500, blank=True)
    # Fernet-encrypted (tenants/encryption.py), write-only everywhere.
    webhook_secret_encrypted = models.TextField(editable=False)
    api_token_encrypted = models.TextField(blank=True, editable=False)
    # The template (slug, as the launch API takes it) each trigger runs; blank: trigger off.
    pull_request_template = models.CharField(max_length=60, blank=True)
    ci_failure_template = models.CharField(max_length=60, blank=True)
    # The handle a comment must mention to reach the session; blank: mentions are off.
    mention_handle = models.CharField(max_length=100, blank=True, default=DEFAULT_MENTION)
    enabled = models.BooleanField(default=True)
    # Sessions an integration starts are this user's (an admin or user of the organization);
    # an admin saving the integration again takes it over if they are gone.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["provider", "repository"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "api_url", "repository"],
                name="integrations_one_per_repository",
            ),
            models.UniqueConstraint(fields=["id", "organization"], name="integration_id_org"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.repository}"

    def template_for(self, kind: str) -> str:
        if kind == TriggerKind.CI_FAILURE:
            return self.ci_failure_template
        return self.pull_request_template


class PullRequestThread(models.Model):
    """The one continuing session of a pull (merge) request, and the comment on it that says
    how the session is doing (created at start, edited after every turn)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="threads")
    number = models.PositiveBigIntegerField(help_text="The PR number or the MR's iid.")
    title = models.CharField(max_length=500, blank=True)
    branch = models.CharField(max_length=255, blank=True)
    session = models.ForeignKey(
        "agent_sessions.Session", on_delete=models.CASCADE, related_name="+"
    )
    # The provider's id of the status comment (GitHub issue comment, GitLab MR note).
    comment_id = models.CharField(max_length=40, blank=True)
    comment_error = models.TextField(blank=True)
    # The create-PR option: the branch the session's changes are pushed to, and the pull
    # (merge) request opened for it (once; later pushes update it).
    pushed_branch = models.CharField(max_length=255, blank=True)
    opened_pull_request = models.CharField(max_length=500, blank=True)
    # Follow-ups that arrived while a turn was running: sent as one message when it ends.
    pending = SafeJSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "number"], name="integrations_one_thread"
            ),
            models.UniqueConstraint(fields=["id", "organization"], name="thread_id_org"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"[:200]


class Delivery(models.Model):
    """One webhook delivery: what came, whether its signature held, what became of it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="deliveries"
    )
    # X-GitHub-Delivery, or GitLab's Idempotency-Key / X-Gitlab-Event-UUID; the dedupe key.
    delivery_key = models.CharField(max_length=100, blank=True)
    event = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=100, blank=True)
    signature_ok = models.BooleanField(default=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.QUEUED)
    detail = models.TextField(blank=True)
    # What the handler read from the payload (kind, PR number, branch, the message...): all a
    # redelivery needs, so the (large) payload itself is not kept.
    trigger = SafeJSONField(default=dict, blank=True)
    thread = models.ForeignKey(
        PullRequestThread, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    session = models.ForeignKey(
        "agent_sessions.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            # A replay of a verified delivery is found here (forged ones are logged, never
            # deduped: they may carry any key).
            models.UniqueConstraint(
                fields=["integration", "delivery_key"],
                condition=Q(signature_ok=True) & ~Q(delivery_key=""),
                name="integrations_delivery_once",
            ),
        ]
        indexes = [
            models.Index(fields=["integration", "-received_at"], name="integr_delivery_recent")
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_key}".strip()
