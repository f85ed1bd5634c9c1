"""Reads for organizations: every one takes the user it serves."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from . import encryption, quotas
from .models import ApiToken, AuditEvent, Organization, User, token_digest
from .validators import validate_local_roots


def organizations_visible_to(user: User):
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(pk=user.organization_id)


def get_organization_for(user: User, slug: str) -> Organization:
    """404 for an organization the user is not in: no existence leak."""
    try:
        return organizations_visible_to(user).get(slug=slug)
    except Organization.DoesNotExist:
        raise Http404("No such organization.") from None


def local_roots_of(organization: Organization) -> list[Path]:
    """The organization's local roots that still hold: resolved now, inside
    LOCAL_PROJECT_ROOTS and outside DATA_DIR (the operator may have narrowed the bound
    since the grant, or a symlink may have moved)."""
    roots = []
    for root in organization.local_roots or []:
        try:
            validate_local_roots([root])
        except ValidationError:
            continue
        roots.append(Path(root).resolve())
    return roots


@dataclass(frozen=True)
class StoredGitCredential:
    host: str
    username: str
    token: str = field(repr=False)


def git_credential_of(organization: Organization) -> StoredGitCredential | None:
    """The organization's git credential, decrypted, for its own clones only."""
    if not organization.git_credential_encrypted:
        return None
    return StoredGitCredential(
        host=organization.git_credential_host,
        username=organization.git_credential_username,
        token=encryption.decrypt(organization.git_credential_encrypted),
    )


def api_tokens_visible_to(user: User):
    """Tokens a user may list and revoke: their own; an organization admin's organization's;
    every token for a superuser. Never the digest's token, which no one has but the holder."""
    tokens = ApiToken.objects.select_related("user")
    if user.is_superuser:
        return tokens
    if user.is_org_admin:
        return tokens.filter(Q(user=user) | Q(organization_id=user.organization_id))
    return tokens.filter(user=user)


def get_api_token_for(user: User, token_id) -> ApiToken:
    try:
        return api_tokens_visible_to(user).get(pk=token_id)
    except (ApiToken.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such token.") from None


def active_api_token(token: str) -> ApiToken | None:
    """The live token row for a presented token (not expired, not revoked, its holder
    active), or None. Looked up by its digest; the digests are compared in constant time."""
    digest = token_digest(token)
    row = ApiToken.objects.select_related("user").filter(digest=digest).first()
    if row is None or not hmac.compare_digest(row.digest, digest):
        return None
    if row.revoked_at is not None or not row.user.is_active:
        return None
    if row.expires_at is not None and row.expires_at <= timezone.now():
        return None
    return row


def quota_report_of(organization: Organization) -> dict:
    """The organization's limits (null: unlimited) with its current usage."""
    usage = quotas.usage_of(organization)
    return {
        **quotas.limits_of(organization),
        "usage": {
            "active_sessions": usage.active_sessions,
            "workspaces": usage.workspaces,
            "storage_gb": usage.storage_gb,
            "storage_bytes": usage.storage_bytes,
            "sessions_today": usage.sessions_today,
            "measured_at": usage.measured_at,
        },
    }


def active_members_of(organization: Organization):
    """The organization's active members, admins first (the dashboard's overview)."""
    return (
        User.objects.filter(organization=organization, is_active=True)
        .only("username", "first_name", "last_name", "role", "last_login")
        .order_by("role", "username")
    )


def recent_audit_events_of(organization: Organization, limit: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(organization=organization)[:limit])


def members_of(user: User, organization: Organization):
    """An organization's members, for its admins and superusers (PermissionDenied otherwise:
    the caller already knows the organization exists, it is their own)."""
    _require_admin_view(user, organization)
    return User.objects.filter(organization=organization).order_by("username")


def get_member_for(user: User, organization: Organization, username: str) -> User:
    """A member of the organization by user name; 404 if the organization has none."""
    try:
        return members_of(user, organization).get(username=username)
    except User.DoesNotExist:
        raise Http404("No such member.") from None


def api_tokens_of_member(user: User, member: User):
    """A member's tokens, newest first, as their organization's admin sees them."""
    return api_tokens_visible_to(user).filter(user=member)


def audit_events_visible_to(user: User, *, organization_slug: str | None = None):
    """Audit events, newest first: an organization admin's organization's; every event for a
    superuser (or one organization's with `organization_slug`). Others: PermissionDenied."""
    events = AuditEvent.objects.select_related("organization")
    if user.is_superuser:
        if organization_slug:
            events = events.filter(organization__slug=organization_slug)
        return events
    if not user.is_org_admin:
        raise PermissionDenied("Only organization admins may read the audit trail.")
    return events.filter(organization_id=user.organization_id)


def _require_admin_view(user: User, organization: Organization) -> None:
    if user.is_superuser:
        return
    if not (user.is_org_admin and user.organization_id == organization.pk):
        raise PermissionDenied("Only this organization's admins manage its members.")
