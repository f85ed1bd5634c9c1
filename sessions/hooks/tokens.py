"""Hook tokens: how an external Claude Code proves which session it reports to.

A token is `<session id hex>.<mac>`, the mac derived from SECRET_KEY, so the server can show
it again (hook-config) without storing it; only its sha256 is stored, and a presented token
is checked against that hash in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings


def derive_token(session_id: uuid.UUID) -> str:
    mac = hmac.new(
        settings.SECRET_KEY.encode(), f"hook-token:{session_id}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{session_id.hex}.{mac}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_id_of(token: str) -> uuid.UUID | None:
    head, _, mac = token.partition(".")
    if not mac:
        return None
    try:
        return uuid.UUID(hex=head)
    except ValueError:
        return None


def matches(token: str, stored_hash: str) -> bool:
    return bool(stored_hash) and hmac.compare_digest(token_hash(token), stored_hash)
