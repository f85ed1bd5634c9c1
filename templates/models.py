"""Session templates: a named preset (prompt with variables, source, agent settings) whose
every edit is a new immutable version, and the record of which version started which
session."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants.json_rules import SafeJSONField
from tenants.models import Organization

from .choices import TemplateScope


class SessionTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    scope = models.CharField(max_length=20, choices=TemplateScope.choices)
    # None for platform templates: row-level security shares those with every organization
    # (read only; the policy's check lets only the operators' bypass write them).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The number of the newest version; the template's name and description mirror it.
    latest_version = models.PositiveIntegerField(default=0)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope=TemplateScope.PLATFORM, organization__isnull=True)
                    | (~Q(scope=TemplateScope.PLATFORM) & Q(organization__isnull=False))
                ),
                name="template_platform_has_no_organization",
            ),
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(scope=TemplateScope.PLATFORM),
                name="template_platform_slug_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "slug"],
                condition=Q(scope=TemplateScope.ORGANIZATION),
                name="template_organization_slug_unique",
            ),
            models.UniqueConstraint(
                fields=["creator", "slug"],
                condition=Q(scope=TemplateScope.PERSONAL),
                name="template_personal_slug_unique",
            ),
            # What the versions' (template, organization) key references.
            models.UniqueConstraint(fields=["id", "organization"], name="template_id_org_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ImmutableRow(Exception):
    """A template version was about to be changed in place; edits make new versions."""


class TemplateVersion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    template = models.ForeignKey(SessionTemplate, on_delete=models.CASCADE, related_name="versions")
    # The template's organization, copied on insert (PostgreSQL: a composite key keeps it
    # equal), so row-level security compares it directly.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # The session request this version makes (templates/config.py describes its shape).
    config = SafeJSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        # A session points at the version it came from: what it ran must stay what it says.
        if not self._state.adding:
            raise ImmutableRow("A template version never changes; edit the template instead.")
        super().save(*args, **kwargs)


class TemplateLaunch(models.Model):
    """Which template version (and variables) a session was started from. Kept here, not on
    the session, so the core knows nothing of templates; it protects the version from
    deletion for as long as the session exists."""

    session = models.OneToOneField(
        "agent_sessions.Session", on_delete=models.CASCADE, related_name="template_launch"
    )
    # The session's organization (PostgreSQL: a composite key keeps it equal to the session's).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )
    template = models.ForeignKey(SessionTemplate, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="launches")
    variables = SafeJSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["template", "organization"], name="launch_template_org")]

    def __str__(self) -> str:
        return f"{self.version} -> {self.session_id}"
