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
