"""Writes for organizations and users: the only place that changes them."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from . import encryption, invitations, json_rules, org_settings
from .choices import AuditAction, Role, SessionVisibility
from .context import client_address
from .models import (
    QUOTA_MAXIMA,
    ApiToken,
    AuditEvent,
    Organization,
    OrganizationQuota,
    OrganizationUsage,
    User,
    token_digest,
)
from .validators import validate_git_credential, validate_local_roots

logger = logging.getLogger(__name__)

# GitHub takes any user name with a token (x-access-token by convention); so does GitLab.
DEFAULT_GIT_USERNAME = "x-access-token"


@transaction.atomic
def create_organization(*, actor: User, name: str, slug: str, settings: dict | None = None):
    if not actor.is_superuser:
        raise PermissionDenied("Only platform superusers create organizations.")
    settings = validate_settings(settings or {})
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": "An organization with this slug already exists."})
    organization = Organization.objects.create(name=name, slug=slug, settings=settings or {})
    record_audit(action=AuditAction.ORGANIZATION_CREATED, actor=actor, target=organization)
    return organization


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
    record_audit(
        action=AuditAction.MEMBER_ADDED,
        actor=actor,
        organization=organization,
        target=user,
        details={"role": role},
    )
    return user


SETTINGS_MAX_BYTES = 16 * 1024


def validate_settings(settings: object) -> dict:
    """An organization's settings: a JSON object of storable values, bounded in size."""
    json_rules.validate_object(settings, field="settings", max_bytes=SETTINGS_MAX_BYTES)
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


@transaction.atomic
def set_local_roots(*, organization: Organization, actor: User | None, roots: list) -> Organization:
    """Grant an organization its local roots (replacing the old ones). Operators only: a
    platform superuser, or `actor=None` for the system (bootstrap commands)."""
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied("Only platform superusers grant local roots.")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    organization.local_roots = validate_local_roots(roots)
    organization.save(update_fields=["local_roots"])
    record_audit(
        action=AuditAction.LOCAL_ROOTS_CHANGED,
        actor=actor,
        organization=organization,
        target=organization,
        details={"local_roots": organization.local_roots},
    )
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
    record_audit(
        action=AuditAction.GIT_CREDENTIAL_SET,
        actor=actor,
        organization=organization,
        target=organization,
        details={"host": cleaned["host"], "username": cleaned["username"]},
    )
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
    record_audit(
        action=AuditAction.GIT_CREDENTIAL_REMOVED,
        actor=actor,
        organization=organization,
        target=organization,
    )
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
    record_audit(
        action=AuditAction.TOKEN_ISSUED,
        actor=user,
        organization=user.organization,
        target=row,
        details={"name": name, "prefix": row.prefix, "expires_at": str(row.expires_at or "")},
    )
    return row, token


def revoke_api_token(*, token: ApiToken, actor: User) -> ApiToken:
    """Revoke a token: its holder, an admin of its organization, or a superuser may."""
    if not may_manage_token(actor, token):
        raise PermissionDenied(
            "Only the token's holder or its organization's admins may revoke it."
        )
    if token.revoked_at is None:
        with transaction.atomic():
            revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            if revoked:
                record_audit(
                    action=AuditAction.TOKEN_REVOKED,
                    actor=actor,
                    organization=token.user.organization,
                    target=token,
                    details={"holder": token.user.get_username(), "prefix": token.prefix},
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


# --- the audit trail ----------------------------------------------------------------------


def record_audit(
    *,
    action: str,
    actor: User | None,
    organization: Organization | None = None,
    target=None,
    details: dict | None = None,
    address: str | None = None,
) -> AuditEvent:
    """Append one audit event. Call it inside the transaction of the change it records, so
    both commit or neither does. `target` is any model instance (or None); the address is the
    current request's unless given."""
    return AuditEvent.objects.create(
        organization_id=organization.pk if organization is not None else None,
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        address=address or client_address(),
        details=details or {},
    )


# --- quotas and measured usage ------------------------------------------------------------


@transaction.atomic
def set_quotas(
    *, organization: Organization, actor: User | None, changes: dict
) -> OrganizationQuota:
    """Change some of an organization's limits (`None`: unlimited); the others stay.
    Operators only: a platform superuser, or `actor=None` for the system."""
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied("Only platform superusers change quotas.")
    cleaned = validate_quota_changes(changes)
    # The organization's row lock is what session creation holds while it counts: a change
    # waits for a create in flight, never lands in the middle of one.
    Organization.objects.select_for_update().get(pk=organization.pk)
    quota, _ = OrganizationQuota.objects.get_or_create(organization=organization)
    changed = {
        name: {"from": getattr(quota, name), "to": value}
        for name, value in cleaned.items()
        if getattr(quota, name) != value
    }
    if changed:
        for name, change in changed.items():
            setattr(quota, name, change["to"])
        quota.save()
        record_audit(
            action=AuditAction.QUOTA_CHANGED,
            actor=actor,
            organization=organization,
            target=organization,
            details=changed,
        )
        logger.info("quotas of org=%s changed %s by=%s", organization.slug, changed, actor)
    return quota


def validate_quota_changes(changes: object) -> dict:
    """Known limits only, each null or a whole number from 0 to its maximum."""
    if not isinstance(changes, dict):
        raise ValidationError("Quotas are a JSON object.")
    errors: dict[str, str] = {}
    for name, value in changes.items():
        if name not in QUOTA_MAXIMA:
            errors[name] = "Unknown quota."
        elif value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            errors[name] = "A whole number, 0 or more (null: unlimited)."
        elif value is not None and value > QUOTA_MAXIMA[name]:
            errors[name] = f"At most {QUOTA_MAXIMA[name]} (null: unlimited)."
    if errors:
        raise ValidationError(errors)
    return dict(changes)


def record_usage(*, organization_id, workspaces: int, storage_bytes: int, measured_at) -> None:
    """Store what the measuring job found on disk for one organization."""
    OrganizationUsage.objects.update_or_create(
        organization_id=organization_id,
        defaults={
            "workspaces": workspaces,
            "storage_bytes": storage_bytes,
            "measured_at": measured_at,
        },
    )


# --- members: added, invited, re-roled, deactivated ------------------------------------


@transaction.atomic
def save_member_from_console(*, user: User, actor: User) -> User:
    """An operator added a user in the console (its form set the password): save it and
    record it as any other addition."""
    user.save()
    if user.organization_id is not None:
        record_audit(
            action=AuditAction.MEMBER_ADDED,
            actor=actor,
            organization=user.organization,
            target=user,
            details={"role": user.role, "by": "console"},
        )
    return user


ONE_TIME_PASSWORD_BYTES = 12


class LastAdminError(ValidationError):
    """The change would leave the organization without an active admin."""


@transaction.atomic
def add_member_with_one_time_password(
    *, organization: Organization, actor: User, username: str, role: str, email: str = ""
) -> tuple[User, str]:
    """Add a member with a generated password, returned to be shown once (only its hash is
    kept); the member should change it after logging in."""
    password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
    user = create_user(
        organization=organization,
        actor=actor,
        username=username,
        password=password,
        role=role,
        email=email,
    )
    return user, password


@transaction.atomic
def invite_member(
    *,
    organization: Organization,
    actor: User,
    username: str,
    email: str,
    role: str,
    base_url: str,
) -> User:
    """Add a member with no usable password and mail them a link to set one (Django's
    password-reset token: it ends when used, when the password changes, or after
    PASSWORD_RESET_TIMEOUT). The mail leaves after commit; a member whose mail failed can be
    sent a new link."""
    _require_admin(actor, organization, "manage its users")
    if not email:
        raise ValidationError({"email": "An invitation needs an email address."})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": "This username is taken."})
    user = User(username=username, email=email, organization=organization, role=role)
    user.set_unusable_password()
    user.save()
    record_audit(
        action=AuditAction.MEMBER_INVITED,
        actor=actor,
        organization=organization,
        target=user,
        details={"role": role, "email": email},
    )
    link = invitations.invite_link(user, base_url)
    transaction.on_commit(lambda: invitations.send_invitation(user, link, inviter=actor))
    return user


@transaction.atomic
def accept_invitation(*, user: User, password: str) -> User:
    """The invited member sets their password (the link's token was checked by the caller;
    setting the password also ends that token)."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    record_audit(
        action=AuditAction.MEMBER_INVITE_ACCEPTED,
        actor=user,
        organization=user.organization,
        target=user,
    )
    return user


@transaction.atomic
def change_member_role(*, member: User, actor: User, role: str) -> User:
    organization = _lock_members_of(member)
    _require_admin(actor, organization, "change its members' roles")
    member = User.objects.get(pk=member.pk)
    if role not in Role.values:
        raise ValidationError({"role": f"Role must be one of {', '.join(Role.values)}."})
    if member.role == role:
        return member
    if member.role == Role.ADMIN and member.is_active:
        _keep_an_admin(organization, member, "take the admin role from")
    old = member.role
    member.role = role
    member.save(update_fields=["role"])
    record_audit(
        action=AuditAction.MEMBER_ROLE_CHANGED,
        actor=actor,
        organization=organization,
        target=member,
        details={"from": old, "to": role},
    )
    return member


@transaction.atomic
def deactivate_member(*, member: User, actor: User) -> User:
    """Deactivate a member: they can no longer log in, their browser sessions end on their
    next request (the auth backend refuses inactive users), and their API tokens are revoked
    at once (a reactivated member gets new ones)."""
    organization = _lock_members_of(member)
    _require_admin(actor, organization, "deactivate its members")
    member = User.objects.get(pk=member.pk)
    if not member.is_active:
        return member
    if member.role == Role.ADMIN:
        _keep_an_admin(organization, member, "deactivate")
    member.is_active = False
    member.save(update_fields=["is_active"])
    revoked = ApiToken.objects.filter(user=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    record_audit(
        action=AuditAction.MEMBER_DEACTIVATED,
        actor=actor,
        organization=organization,
        target=member,
        details={"tokens_revoked": revoked},
    )
    return member


@transaction.atomic
def reactivate_member(*, member: User, actor: User) -> User:
    organization = _lock_members_of(member)
    _require_admin(actor, organization, "reactivate its members")
    member = User.objects.get(pk=member.pk)
    if member.is_active:
        return member
    member.is_active = True
    member.save(update_fields=["is_active"])
    record_audit(
        action=AuditAction.MEMBER_REACTIVATED,
        actor=actor,
        organization=organization,
        target=member,
    )
    return member


def _lock_members_of(member: User) -> Organization:
    """Lock the member's organization row: changes to its admins run one at a time, so two
    admins demoting each other at once cannot leave it with none."""
    if member.organization_id is None:
        raise ValidationError("Platform superusers belong to no organization.")
    return Organization.objects.select_for_update().get(pk=member.organization_id)


def _keep_an_admin(organization: Organization, member: User, what: str) -> None:
    others = User.objects.filter(
        organization=organization, role=Role.ADMIN, is_active=True
    ).exclude(pk=member.pk)
    if not others.exists():
        raise LastAdminError(
            f"You cannot {what} {member.get_username()}: they are the organization's last "
            "active admin. Make another member an admin first."
        )


# --- organization settings ----------------------------------------------------------------


@transaction.atomic
def update_organization_settings(
    *,
    organization: Organization,
    actor: User,
    name: str,
    session_defaults: dict,
    session_visibility: str,
) -> Organization:
    """An admin's edit of the settings page: the name, the defaults for new sessions and who
    sees which sessions. Validated by the same rules as the API; audited with what changed
    (old and new values: none of these is a secret)."""
    _require_admin(actor, organization, "change its settings")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": "Give a name of 1 to 200 characters."})
    settings = dict(organization.settings or {})
    settings[org_settings.SESSION_DEFAULTS] = session_defaults
    settings[org_settings.SESSION_VISIBILITY] = session_visibility
    if not session_defaults:
        settings.pop(org_settings.SESSION_DEFAULTS)
    settings = validate_settings(settings)
    changes = _changes(
        {"name": organization.name, **_tracked(organization.settings or {})},
        {"name": name, **_tracked(settings)},
    )
    if not changes:
        return organization
    organization.name = name
    organization.settings = settings
    organization.save(update_fields=["name", "settings"])
    record_audit(
        action=AuditAction.SETTINGS_CHANGED,
        actor=actor,
        organization=organization,
        target=organization,
        details={"changed": changes},
    )
    return organization


def _tracked(settings: dict) -> dict:
    return {
        org_settings.SESSION_DEFAULTS: settings.get(org_settings.SESSION_DEFAULTS) or {},
        org_settings.SESSION_VISIBILITY: settings.get(org_settings.SESSION_VISIBILITY)
        or SessionVisibility.ORGANIZATION,
    }


def _changes(old: dict, new: dict) -> dict:
    return {
        key: {"from": old.get(key), "to": value}
        for key, value in new.items()
        if old.get(key) != value
    }


@transaction.atomic
def resend_invitation(*, member: User, actor: User, base_url: str) -> User:
    """A new invitation link for a member who has not set a password yet."""
    organization = _lock_members_of(member)
    _require_admin(actor, organization, "invite its members")
    if member.has_usable_password():
        raise ValidationError(f"{member.get_username()} has already set a password.")
    if not member.email:
        raise ValidationError({"email": f"{member.get_username()} has no email address."})
    record_audit(
        action=AuditAction.MEMBER_INVITED,
        actor=actor,
        organization=organization,
        target=member,
        details={"role": member.role, "email": member.email, "again": True},
    )
    link = invitations.invite_link(member, base_url)
    transaction.on_commit(lambda: invitations.send_invitation(member, link, inviter=actor))
    return member
