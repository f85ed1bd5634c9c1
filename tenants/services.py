"""Writes for organizations and users: the only place that changes them."""

from __future__ import annotations

import logging

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from . import encryption
from .choices import Role
from .models import Organization, User
from .validators import validate_git_credential, validate_local_roots

logger = logging.getLogger(__name__)

# GitHub takes any user name with a token (x-access-token by convention); so does GitLab.
DEFAULT_GIT_USERNAME = "x-access-token"


@transaction.atomic
def create_organization(*, actor: User, name: str, slug: str, settings: dict | None = None):
    if not actor.is_superuser:
        raise PermissionDenied("Only platform superusers create organizations.")
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": "An organization with this slug already exists."})
    return Organization.objects.create(name=name, slug=slug, settings=settings or {})


@transaction.atomic
def create_user(
    *,
    organization: Organization,
    actor: User | None,
    username: str,
    password: str,
    role: str = Role.USER,
    email: str = "",
) -> User:
    """Add a user to an organization. `actor=None` is the system (bootstrap commands)."""
    if actor is not None and not (actor.is_superuser or _is_admin_of(actor, organization)):
        raise PermissionDenied("Only this organization's admins manage its users.")
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": "This username is taken."})
    user = User(username=username, email=email, organization=organization, role=role)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    return user


def _is_admin_of(user: User, organization: Organization) -> bool:
    return user.is_org_admin and user.organization_id == organization.pk


@transaction.atomic
def ensure_operator(*, organization: Organization, username: str, password: str) -> User:
    """Create or refresh an organization admin who may also use the operations console
    (the Django admin) as a platform superuser: the bootstrap for a demo or first install."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username)
    user.organization = organization
    user.role = Role.ADMIN
    user.is_staff = True
    user.is_superuser = True
    user.set_password(password)
    user.save()
    return user


def ensure_organization(*, slug: str, name: str) -> Organization:
    """The organization with this slug, created if missing (bootstrap commands)."""
    organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
    return organization


@transaction.atomic
def set_local_roots(*, organization: Organization, actor: User | None, roots: list) -> Organization:
    """Grant an organization its local roots (replacing the old ones). Operators only: a
    platform superuser, or `actor=None` for the system (bootstrap commands)."""
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied("Only platform superusers grant local roots.")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    organization.local_roots = validate_local_roots(roots)
    organization.save(update_fields=["local_roots"])
    logger.info(
        "local roots of org=%s set to %s by=%s", organization.slug, organization.local_roots, actor
    )
    return organization


@transaction.atomic
def set_git_credential(
    *,
    organization: Organization,
    actor: User,
    token: str,
    username: str = DEFAULT_GIT_USERNAME,
    host: str = "",
) -> Organization:
    """Set the organization's git token for private repositories on `host` (the host of
    GIT_BASE_URL unless told). Stored encrypted; never shown again."""
    _require_admin(actor, organization, "set its git credential")
    cleaned = validate_git_credential(token=token, username=username, host=host)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    organization.git_credential_encrypted = encryption.encrypt(cleaned["token"])
    organization.git_credential_host = cleaned["host"]
    organization.git_credential_username = cleaned["username"]
    organization.save(update_fields=[*_CREDENTIAL_FIELDS])
    logger.info(
        "git credential of org=%s set for host=%s by=%s", organization.slug, cleaned["host"], actor
    )
    return organization


@transaction.atomic
def clear_git_credential(*, organization: Organization, actor: User) -> Organization:
    _require_admin(actor, organization, "remove its git credential")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    for name in _CREDENTIAL_FIELDS:
        setattr(organization, name, "")
    organization.save(update_fields=[*_CREDENTIAL_FIELDS])
    logger.info("git credential of org=%s removed by=%s", organization.slug, actor)
    return organization


def rotate_encrypted_secrets() -> int:
    """Re-encrypt every stored secret with the first of FIELD_ENCRYPTION_KEYS; how many."""
    rotated = 0
    for pk in Organization.objects.exclude(git_credential_encrypted="").values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            organization = Organization.objects.select_for_update().get(pk=pk)
            organization.git_credential_encrypted = encryption.rotate(
                organization.git_credential_encrypted
            )
            organization.save(update_fields=["git_credential_encrypted"])
        rotated += 1
    return rotated


_CREDENTIAL_FIELDS = ("git_credential_encrypted", "git_credential_host", "git_credential_username")


def _require_admin(actor: User, organization: Organization, what: str) -> None:
    if not (actor.is_superuser or _is_admin_of(actor, organization)):
        raise PermissionDenied(f"Only this organization's admins {what}.")
