"""Reads for organizations: every one takes the user it serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.http import Http404

from . import encryption
from .models import Organization, User
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
