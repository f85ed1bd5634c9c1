from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    USER = "user", "User"
    VIEWER = "viewer", "Viewer"


class AuditAction(models.TextChoices):
    """What an audit event records; services write them (tenants.services.record_audit)."""

    ORGANIZATION_CREATED = "organization.created", "Organization created"
    SETTINGS_CHANGED = "organization.settings_changed", "Organization settings changed"
    LOCAL_ROOTS_CHANGED = "organization.local_roots_changed", "Local roots changed"
    GIT_CREDENTIAL_SET = "organization.git_credential_set", "Git credential set"
    GIT_CREDENTIAL_REMOVED = "organization.git_credential_removed", "Git credential removed"
    QUOTA_CHANGED = "organization.quota_changed", "Quotas changed"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_INVITED = "member.invited", "Member invited"
    MEMBER_INVITE_ACCEPTED = "member.invite_accepted", "Member set their password"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member's role changed"
    MEMBER_DEACTIVATED = "member.deactivated", "Member deactivated"
    MEMBER_REACTIVATED = "member.reactivated", "Member reactivated"
    TOKEN_ISSUED = "token.issued", "API token issued"
    TOKEN_REVOKED = "token.revoked", "API token revoked"
    SESSION_CREATED = "session.created", "Session created"
    SESSION_STOPPED = "session.stopped", "Session stopped"
    BYPASS_USED = "platform.bypass", "Tenant bypass used"
    TEMPLATE_CREATED = "template.created", "Session template created"
    TEMPLATE_CHANGED = "template.changed", "Session template changed (a new version)"
    TEMPLATE_ARCHIVED = "template.archived", "Session template archived"
    TEMPLATE_RESTORED = "template.restored", "Session template restored"
    TEMPLATE_DELETED = "template.deleted", "Session template deleted"


class QuotaKind(models.TextChoices):
    """An organization's limits; each is a nullable field of OrganizationQuota (null:
    unlimited) and the key of its usage."""

    ACTIVE_SESSIONS = "max_active_sessions", "Active sessions"
    WORKSPACES = "max_workspaces", "Workspaces on disk"
    STORAGE_GB = "max_storage_gb", "Storage"
    SESSIONS_PER_DAY = "max_sessions_per_day", "Sessions created today"


class SessionVisibility(models.TextChoices):
    """Who sees which sessions of an organization (its settings' `sessionVisibility`)."""

    ORGANIZATION = "organization", "Every member sees every session of the organization"
    OWN = "own", "Users and viewers see only the sessions they created; admins see all"
