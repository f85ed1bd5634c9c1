from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from tenants.models import Organization, TenantQuerySet

from .choices import Direction, ProjectType, SessionMode, SessionStatus


class Session(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sessions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    mode = models.CharField(max_length=20, choices=SessionMode.choices, default=SessionMode.MANAGED)
    project_type = models.CharField(max_length=20, choices=ProjectType.choices)
    github_repo = models.CharField(max_length=500, blank=True)
    git_ref = models.CharField(max_length=255, blank=True)
    local_path = models.CharField(max_length=1000, blank=True)
    project_path = models.CharField(max_length=1000, blank=True, help_text="The workspace.")
    initial_prompt = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.PENDING, db_index=True
    )
    status_reason = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    agent_session_id = models.CharField(max_length=100, blank=True)
    # The last seq handed out; messages and logs share this gap-free counter.
    last_seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return self.name


class SessionEvent(models.Model):
    """What messages and command logs share: a place in the session's sequence."""

    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["seq"]


class SessionMessage(SessionEvent):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=20, choices=Direction.choices)
    content = models.TextField()

    class Meta(SessionEvent.Meta):
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="message_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.direction} #{self.seq}"


class CommandLog(SessionEvent):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="logs")
    tool = models.CharField(max_length=200)
    input = models.JSONField(default=dict, blank=True)
    result = models.TextField(blank=True)
    is_error = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    tool_use_id = models.CharField(max_length=200, blank=True)

    class Meta(SessionEvent.Meta):
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="log_seq_unique")]

    def __str__(self) -> str:
        return f"{self.tool} #{self.seq}"
