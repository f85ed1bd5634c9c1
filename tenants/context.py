"""Who a unit of work acts for: its organization (the tenant context) and, for requests,
the client's address for the audit trail.

`tenant_context(organization)` scopes a block to one organization; `platform_bypass(reason,
actor=...)` is the one, named way for platform work (the reconciler, operator views,
platform-wide jobs) to cross organizations, and it leaves an audit event. On PostgreSQL the
row-level security policies read the context from `app.current_org_id`, set per transaction;
elsewhere (SQLite) the Python scoping (`TenantQuerySet.for_user`, the selectors) is the
guarantee.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_address", default=None)


def client_address() -> str | None:
    """The address of the request being served, if any (for audit events)."""
    return _address.get()


@contextlib.contextmanager
def request_address(address: str | None) -> Iterator[None]:
    token = _address.set(address or None)
    try:
        yield
    finally:
        _address.reset(token)


class AuditAddressMiddleware:
    """Makes the client's address available to the services that write audit events, without
    passing the request down (REMOTE_ADDR: behind a proxy, the proxy sets it right)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with request_address(request.META.get("REMOTE_ADDR")):
            return self.get_response(request)


# --- the tenant context --------------------------------------------------------------------
#
# Kept here, beside the address, because the database backend (tenants/postgresql) reads it
# before every transaction and must import nothing heavier. The public API that enters it
# (tenant_context, platform_bypass, the middleware) lives in tenants/tenancy.py.


@dataclass(frozen=True)
class Scope:
    """Whose rows a unit of work may touch: one organization, or (the bypass) all of them."""

    organization_id: str = ""
    bypass: bool = False

    def settings(self) -> tuple[str, str]:
        """The values of `app.current_org_id` and `app.rls_bypass` for this scope."""
        return (self.organization_id, "on" if self.bypass else "")


NO_SCOPE = Scope()


class LazyScope:
    """A scope worked out when the database is first asked (a request's user is only known
    once authentication ran, which may itself need the database)."""

    def resolve(self) -> Scope:  # pragma: no cover - interface
        raise NotImplementedError


_scope: contextvars.ContextVar[Scope | LazyScope] = contextvars.ContextVar(
    "tenant_scope", default=NO_SCOPE
)


def current_scope() -> Scope:
    """The scope in force: no organization and no bypass unless one was entered (fail closed)."""
    scope = _scope.get()
    return scope.resolve() if isinstance(scope, LazyScope) else scope


@contextlib.contextmanager
def entered(scope: Scope | LazyScope) -> Iterator[None]:
    """Low level: run a block in `scope`. Use tenancy.tenant_context or platform_bypass."""
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)
