from __future__ import annotations

import hashlib
import uuid

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from .choices import AuditAction, Role
from .json_rules import SafeJSONField


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    settings = SafeJSONField(default=dict, blank=True)
    # Folders this organization's local sessions may use, each inside LOCAL_PROJECT_ROOTS;
    # granted by operators (tenants.services.set_local_roots), none by default.
    local_roots = models.JSONField(default=list, blank=True)
    # The organization's git token for private repositories, Fernet-encrypted
    # (tenants/encryption.py); never shown again once set. Host and user name are not secret.
    git_credential_encrypted = models.TextField(blank=True, editable=False)
    git_credential_host = models.CharField(max_length=253, blank=True)
    git_credential_username = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_git_credential(self) -> bool:
        return bool(self.git_credential_encrypted)


class User(AbstractUser):
    """A person in one organization, with a role; platform superusers belong to none."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.USER)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="user_in_org_unless_superuser",
                condition=Q(is_superuser=True) | Q(organization__isnull=False),
            )
        ]

    @property
    def is_org_admin(self) -> bool:
        return self.organization_id is not None and self.role == Role.ADMIN

    @property
    def can_control_sessions(self) -> bool:
        """Admins and users start and steer sessions; viewers only watch."""
        return self.is_superuser or self.role in (Role.ADMIN, Role.USER)


class TenantQuerySet(models.QuerySet):
    """The one scoping entry point for tenant-owned rows."""

    def for_user(self, user) -> TenantQuerySet:
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(organization_id=user.organization_id)

    def for_org(self, organization) -> TenantQuerySet:
        return self.filter(organization=organization)


class IdempotencyKey(models.Model):
    """A creating request's first successful answer, kept so a retry gets it back.

    Scoped to organization, user and endpoint (path); see tenants/idempotency.py."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, related_name="+"
    )
    user = models.ForeignKey("User", on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=300)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of the request.")
    response_status = models.PositiveSmallIntegerField()
    response_body = SafeJSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "endpoint", "key"], name="idempotency_key_once")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"


def token_digest(token: str) -> str:
    """What is stored of an API token: its sha256 (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class ApiToken(models.Model):
    """An API credential (`Authorization: Token <token>`). Only the token's sha256 digest is
    stored: the token itself is shown once, when it is issued. It expires, and it can be
    revoked (the row stays, as the record of who held what until when)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("User", on_delete=models.CASCADE, related_name="api_tokens")
    # The holder's organization when issued: what its admins may list and revoke.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, help_text="The token's first characters.")
    digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the token.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class AuditEvent(models.Model):
    """One thing someone did that an organization (or the platform) must be able to account
    for: who, in which organization, what, to what, when, from where. Append-only: written by
    services (tenants.services.record_audit), never changed or deleted by the application."""

    id = models.BigAutoField(primary_key=True)
    # None: a platform event (an operator's bypass, an organization's creation).
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        "User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as written: the account may be renamed or deleted later.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60, choices=AuditAction.choices)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    details = SafeJSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")


# The largest value each limit accepts: beyond these a number is a typo, not a plan.
QUOTA_MAXIMA = {
    "max_active_sessions": 100_000,
    "max_workspaces": 1_000_000,
    "max_storage_gb": 1_000_000,
    "max_sessions_per_day": 10_000_000,
}


def _limit_field(name: str, label: str, help_text: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        label,
        null=True,
        blank=True,
        validators=[MaxValueValidator(QUOTA_MAXIMA[name])],
        help_text=f"{help_text} Empty: unlimited.",
    )


class OrganizationQuota(models.Model):
    """An organization's limits, set by operators (tenants.services.set_quotas). Each is null
    for unlimited; an organization without a row has no limits at all."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="quota"
    )
    max_active_sessions = _limit_field(
        "max_active_sessions",
        "max active sessions",
        "Sessions not yet ended (pending, preparing, running, idle).",
    )
    max_workspaces = _limit_field(
        "max_workspaces",
        "max workspaces",
        "Workspace folders on disk, ended sessions' included until removed.",
    )
    max_storage_gb = _limit_field(
        "max_storage_gb", "max storage (GB)", "Bytes under its workspaces, in GB (1024³ bytes)."
    )
    max_sessions_per_day = _limit_field(
        "max_sessions_per_day",
        "max sessions per day",
        "Sessions created since midnight (TIME_ZONE).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "quota"

    def __str__(self) -> str:
        return f"Quotas of {self.organization}"


class OrganizationUsage(models.Model):
    """What the periodic measuring job last found on disk for an organization: cheap to read
    where a walk of every workspace would not be."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="usage"
    )
    workspaces = models.PositiveIntegerField(default=0)
    storage_bytes = models.PositiveBigIntegerField(default=0)
    measured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "measured usage"
        verbose_name_plural = "measured usage"

    def __str__(self) -> str:
        return f"Usage of {self.organization}"
