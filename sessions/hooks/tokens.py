"""Hook tokens: how an attached Claude Code proves which session it reports to.

A token is `<session id hex>.<random secret>`. The secret is random per session, so no server
key can forge one; the token is shown once (when the session is created and when it is
rotated) and only its sha256 is stored. The id prefix finds the session by primary key and
the hash is compared in constant time. Managed sessions have no token: their events come
from their own runner, in-process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

# What a hook-config block shows in place of a token it cannot show again.
PLACEHOLDER = "<hook token>"


def new_token(session_id: uuid.UUID) -> str:
    return f"{session_id.hex}.{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_id_of(token: str) -> uuid.UUID | None:
    head, _, secret = token.partition(".")
    if not secret:
        return None
    try:
        return uuid.UUID(hex=head)
    except ValueError:
        return None


def matches(token: str, stored_hash: str) -> bool:
    return bool(stored_hash) and hmac.compare_digest(token_hash(token), stored_hash)
