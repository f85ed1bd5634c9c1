"""Writes for organizations and users: the only place that changes them."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from . import json_rules, org_settings
from .choices import Role
from .models import ApiToken, Organization, User, token_digest


@transaction.atomic
def create_organization(*, actor: User, name: str, slug: str, settings: dict | None = None):
    if not actor.is_superuser:
        raise PermissionDenied("Only platform superusers create organizations.")
    settings = validate_settings(settings or {})
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


SETTINGS_MAX_BYTES = 16 * 1024


def validate_settings(settings: object) -> dict:
    """An organization's settings: a JSON object of storable values, bounded in size."""
    if not isinstance(settings, dict):
        raise ValidationError({"settings": "Settings are a JSON object."})
    try:
        json_rules.check(settings, "settings")
    except json_rules.HostileValue as exc:
        raise ValidationError({"settings": [str(exc)]}) from None
    if json_rules.byte_size(settings) > SETTINGS_MAX_BYTES:
        raise ValidationError({"settings": f"Settings are limited to {SETTINGS_MAX_BYTES} bytes."})
    errors = org_settings.errors_in(settings)
    if errors:
        raise ValidationError({"settings": errors})
    return settings


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


# --- API tokens: issued, used, revoked ---------------------------------------------------

TOKEN_PREFIX = "orch_"
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def issue_api_token(*, user: User, name: str = "", days: int | None = None) -> tuple:
    """A new API token for `user`: (its row, the token). The token is not stored (only its
    sha256), so this is the only time anyone sees it. `days` defaults to
    API_TOKEN_TTL_DAYS; 0 there means tokens do not expire."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    days = django_settings.API_TOKEN_TTL_DAYS if days is None else days
    row = ApiToken.objects.create(
        user=user,
        organization_id=user.organization_id,
        name=name,
        prefix=token[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(token),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return row, token


def revoke_api_token(*, token: ApiToken, actor: User) -> ApiToken:
    """Revoke a token: its holder, an admin of its organization, or a superuser may."""
    if not may_manage_token(actor, token):
        raise PermissionDenied(
            "Only the token's holder or its organization's admins may revoke it."
        )
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
    return token


def may_manage_token(actor: User, token: ApiToken) -> bool:
    if actor.is_superuser or token.user_id == actor.pk:
        return True
    return actor.is_org_admin and token.organization_id == actor.organization_id


def note_token_use(token: ApiToken) -> None:
    """Record when a token was last used, at most once a minute (not a write per request)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
