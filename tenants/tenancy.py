"""Entering the tenant context: whose rows a unit of work may touch.

- `tenant_context(organization)`: one organization (requests, hook posts, the agent's turns,
  consumers, tasks on one organization's behalf).
- `platform_bypass(reason, actor=...)`: the one, named way across organizations (the
  reconciler, operators in the admin, superusers, bootstrap commands); it writes an audit
  event (`platform.bypass`) with the reason.
- `acting_as(user, reason)`: what a user's work runs in (their organization; the bypass for a
  platform superuser).
- `TenantContextMiddleware`: the request's context, from its authenticated user.

On PostgreSQL the backend (tenants/postgresql) hands the context in force to the row-level
security policies in every transaction; no context, no rows. On SQLite the context is not
consulted: the Python scoping (`TenantQuerySet.for_user`, the selectors) is the guarantee.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from django.apps import apps
from django.db import connection

from . import services
from .choices import AuditAction
from .context import LazyScope, Scope, entered
from .models import Organization, User

# A SECURITY DEFINER function (migration tenants 0006): the organization of a session, for the
# two callers that hold only a session id (a hook token, a queued turn) and so cannot know
# the organization before reading. It answers one uuid, never a row.
SESSION_ORGANIZATION_SQL = "SELECT rls_session_organization(%s)"
# Likewise the holder of an API token, from its digest (token authentication), whose
# context then reads the token row itself.
TOKEN_HOLDER_SQL = "SELECT rls_api_token_holder(%s)"


@contextlib.contextmanager
def tenant_context(organization: Organization | uuid.UUID | str | None) -> Iterator[None]:
    """Run a block as `organization` (None: as nobody, which sees no tenant rows)."""
    if isinstance(organization, Organization):
        organization = organization.pk
    with entered(Scope(organization_id=str(organization) if organization else "")):
        yield


@contextlib.contextmanager
def platform_bypass(reason: str, *, actor: User | None = None) -> Iterator[None]:
    """Cross organizations for platform work, and leave an audit event saying who and why."""
    if not reason:
        raise ValueError("A platform bypass needs a reason.")
    with entered(Scope(bypass=True)):
        services.record_audit(
            action=AuditAction.BYPASS_USED,
            actor=actor,
            details={"reason": reason[:500]},
        )
        yield


@contextlib.contextmanager
def acting_as(user, reason: str) -> Iterator[None]:
    """The context of a user's work: their organization, the bypass for a superuser."""
    if user is not None and user.is_authenticated and user.is_superuser:
        with platform_bypass(reason, actor=user):
            yield
        return
    organization_id = getattr(user, "organization_id", None) if user is not None else None
    with tenant_context(organization_id):
        yield


def session_organization(session_id) -> uuid.UUID | None:
    """The organization a session belongs to, readable before any context is set."""
    try:
        session_id = uuid.UUID(str(session_id))
    except ValueError:
        return None
    return _lookup(SESSION_ORGANIZATION_SQL, session_id, "agent_sessions", "Session")


def api_token_holder(digest: str) -> User | None:
    """The user holding the API token with this digest (whether or not it is still valid),
    found before any context is set; None when no token has it."""
    user_id = _lookup(TOKEN_HOLDER_SQL, digest, "tenants", "ApiToken", column="user_id")
    return User.objects.filter(pk=user_id).first() if user_id else None


def _lookup(sql: str, key, app_label: str, model_name: str, column: str = "organization_id"):
    if connection.vendor != "postgresql":
        # No row-level security here: the model answers directly.
        model = apps.get_model(app_label, model_name)
        field = "pk" if model_name == "Session" else "digest"
        row = model.objects.filter(**{field: key}).values_list(column).first()
        return row[0] if row else None
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(key)])
        row = cursor.fetchone()
    return row[0] if row else None


@contextlib.contextmanager
def session_context(session_id) -> Iterator[None]:
    """Run a block as the organization of a session known only by its id (a queued turn)."""
    with tenant_context(session_organization(session_id)):
        yield


class RequestScope(LazyScope):
    """A request's context, worked out from its user when the database is first asked (the
    REST API authenticates tokens inside the view, after the middleware ran), and again
    whenever the user changes. A superuser's request takes the bypass, audited once."""

    def __init__(self, request) -> None:
        self.request = request
        self.resolving = False
        self.audited = False

    def resolve(self) -> Scope:
        if self.resolving:
            # Authentication itself reads sessions and users: no tenant rows meanwhile.
            return Scope()
        self.resolving = True
        try:
            user = getattr(self.request, "user", None)
            if user is None or not user.is_authenticated:
                return Scope()
            if user.is_superuser:
                self._audit_bypass(user)
                return Scope(bypass=True)
            return Scope(organization_id=str(user.organization_id or ""))
        finally:
            self.resolving = False

    def _audit_bypass(self, user) -> None:
        if self.audited:
            return
        self.audited = True
        with entered(Scope(bypass=True)):
            services.record_audit(
                action=AuditAction.BYPASS_USED,
                actor=user,
                details={"reason": f"superuser {self.request.method} {self.request.path}"[:500]},
            )


class TenantContextMiddleware:
    """Every request runs in its user's context (after AuthenticationMiddleware). Streaming
    responses (SSE) read the database after this returns: they enter their own context."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with entered(RequestScope(request)):
            return self.get_response(request)
