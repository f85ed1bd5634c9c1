"""Who a hook token speaks for, answered from a small per-process cache.

A hit costs no query: the token's digest maps to the session it opened (id, organization,
mode). The cache is an optimisation, never the authority: the writer compares the digest
with the locked session row in the transaction that records the event, so a rotated,
revoked or closed session's token records nothing from the very next post on, in every
process, with no message between processes. A refusal there evicts the entry here.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from tenants.tenancy import session_organization, tenant_context

from ..choices import SessionMode
from ..models import Session
from . import tokens

# Enough for every attached session a process serves at once; old entries go first.
CACHE_SIZE = 4096
# An entry is read again from the database after this long, whatever happened meanwhile.
CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class Credential:
    session_id: uuid.UUID
    organization_id: uuid.UUID
    mode: str
    token_hash: str  # of the token as presented, which matched the session row when read


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Credential]] = OrderedDict()

    def get(self, digest: str) -> Credential | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry[1]

    def put(self, credential: Credential) -> None:
        with self._lock:
            expires = time.monotonic() + CACHE_SECONDS
            self._entries[credential.token_hash] = (expires, credential)
            self._entries.move_to_end(credential.token_hash)
            while len(self._entries) > CACHE_SIZE:
                self._entries.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _Cache()


def cached(token: str) -> Credential | None:
    """The credential for `token` if this process knows it already (no query)."""
    return _cache.get(tokens.token_hash(token))


def lookup(token: str) -> Credential | None:
    """The credential for `token`: from the cache, else from its session row (two indexed
    reads). None when the token matches no session. A managed session's credential is
    returned (so its caller can be told why) but never cached: it has no token."""
    hit = cached(token)
    if hit is not None:
        return hit
    session_id = tokens.session_id_of(token)
    organization_id = session_organization(session_id) if session_id else None
    if organization_id is None:
        return None
    with tenant_context(organization_id):
        row = (
            Session.objects.filter(pk=session_id)
            .values_list("mode", "hook_token_hash")
            .order_by()
            .first()
        )
    if row is None:
        return None
    mode, stored = row
    credential = Credential(session_id, organization_id, mode, tokens.token_hash(token))
    if mode == SessionMode.MANAGED:
        return credential
    if not tokens.matches(token, stored):
        return None
    _cache.put(credential)
    return credential


def forget(credential: Credential) -> None:
    _cache.forget(credential.token_hash)


def clear() -> None:
    """Forget every credential (tests; an operator's emergency)."""
    _cache.clear()
