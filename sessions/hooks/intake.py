"""Taking one hook post, independent of the web framework in front of it.

`receive_hook()` is the whole contract of `POST /api/hooks/`: size limit, hook-token
authentication, JSON parsing, ingestion and the answer. The DRF view (schema, test client,
WSGI) and the lean ASGI route in `sessions/hooks/asgi.py` (the hot path under an ASGI server,
without middleware and DRF) both call it, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from tenants import json_rules
from tenants.tenancy import session_organization, tenant_context

from ..choices import SessionMode, SessionStatus
from ..ingest import INTERNAL_EVENTS, IngestError, ingest, pre_tool_use_answer
from ..models import Session
from ..policies import Decision
from . import stats as hook_stats
from . import tokens as hook_tokens

# What the hook path reads of a session (ingest locks and reloads it to write).
# CommandLog.duration_ms is a 32-bit column on PostgreSQL.
MAX_DURATION_MS = 2**31 - 1
HOOK_FIELDS = ("id", "organization_id", "hook_token_hash", "mode", "status")
AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="hooks"'}
MANAGED_REFUSAL = (
    "This is a managed session: its runner records its events in-process, and hook posts "
    "into it are refused. Attach your own Claude Code to an attached session instead."
)
# Once a session is over, its token records nothing more.
CLOSED_STATUSES = (SessionStatus.STOPPED, SessionStatus.ERROR)


@dataclass
class HookAnswer:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


class HookRefused(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.answer = HookAnswer(status, {"detail": detail}, headers or {})


def receive_hook(
    *,
    authorization: str,
    body: bytes,
    event_id: str = "",
    expected_session: str = "",
    default_event: str = "",
    replayed: bool = False,
) -> HookAnswer:
    # The token names the session, not its organization: the organization is looked up
    # first (tenancy.session_organization, one uuid), then everything runs in its context.
    organization_id = hook_tokens_organization(authorization)
    with tenant_context(organization_id):
        try:
            answer = _receive_hook(
                authorization=authorization,
                body=body,
                event_id=event_id,
                expected_session=expected_session,
                default_event=default_event,
            )
        except Exception:
            hook_stats.record(organization_id, hook_stats.FAILED)
            raise
    # Delivery health for alerting (hooks/stats.py): one cache incr per post.
    hook_stats.record(organization_id, hook_stats.outcome_of(answer.status, replayed=replayed))
    return answer


def hook_tokens_organization(authorization: str):
    """The organization of the session a `Bearer <token>` names, or None (no rows then)."""
    _, _, token = authorization.strip().partition(" ")
    session_id = hook_tokens.session_id_of(token.strip())
    return session_organization(session_id) if session_id else None


def _receive_hook(
    *, authorization: str, body: bytes, event_id: str, expected_session: str, default_event: str
) -> HookAnswer:
    try:
        session = authenticate(authorization)
        within_rate_limit(authorization)
        if expected_session and expected_session not in (str(session.pk), session.pk.hex):
            raise HookRefused(403, "This hook token belongs to another session.")
        payload = parse(body, default_event)
        if session.status in CLOSED_STATUSES:
            return _closed_answer(session, payload)
        result = ingest(session=session, payload=payload, event_id=event_id[:100])
    except HookRefused as refused:
        return refused.answer
    except IngestError as exc:
        return HookAnswer(400, {"detail": str(exc)})
    if payload.get("hook_event_name") == "PreToolUse":
        return HookAnswer(200, result.response)
    return HookAnswer(200, {"ok": True, "seq": result.seq, "duplicate": result.duplicate})


def authenticate(authorization: str) -> Session:
    """The session whose hook token is presented as `Bearer <token>`."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HookRefused(
            401, "Send the hook token as 'Authorization: Bearer <token>'.", AUTHENTICATE
        )
    token = token.strip()
    session_id = hook_tokens.session_id_of(token)
    session = (
        Session.objects.filter(pk=session_id).only(*HOOK_FIELDS).order_by().first()
        if session_id
        else None
    )
    if session is not None and session.mode == SessionMode.MANAGED:
        raise HookRefused(403, MANAGED_REFUSAL)
    if session is None or not hook_tokens.matches(token, session.hook_token_hash):
        raise HookRefused(401, "Invalid hook token.", AUTHENTICATE)
    return session


def _closed_answer(session: Session, payload: dict) -> HookAnswer:
    """A stopped or failed session records nothing more. Its Claude Code is still told no in
    its own format when it asks to run a tool: it ignores the body of a non-2xx answer and
    would run the tool."""
    reason = f"The session is {session.status} in claude-orchestrator."
    if payload.get("hook_event_name") == "PreToolUse":
        denial = Decision(allow=False, reason=f"{reason} No more tool calls.", policy="closed")
        return HookAnswer(200, pre_tool_use_answer(denial))
    return HookAnswer(403, {"detail": f"{reason} Its hook token no longer records events."})


def within_rate_limit(authorization: str) -> None:
    """At most HOOK_RATE_LIMIT events per HOOK_RATE_WINDOW_SECONDS for one hook token (a
    fixed window, counted in the cache all server processes share); 429 beyond, with the
    seconds until the window ends as Retry-After. The hook client spools a 429 and replays."""
    limit, window = settings.HOOK_RATE_LIMIT, settings.HOOK_RATE_WINDOW_SECONDS
    if limit <= 0 or window <= 0:
        return
    now = time.time()
    start = int(now // window) * window
    # Keyed by a digest of the credential as presented: the token itself never reaches Redis.
    digest = hashlib.sha256(authorization.strip().encode()).hexdigest()
    key = f"hook-rate:{digest}:{start}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this event opens a new count
        cache.set(key, count := 1, timeout=window + 1)
    if count > limit:
        retry_after = max(1, math.ceil(start + window - now))
        raise HookRefused(
            429,
            f"More than {limit} hook events in {window} s from this hook token; "
            f"retry in {retry_after} s.",
            {"Retry-After": str(retry_after)},
        )


def parse(body: bytes, default_event: str = "") -> dict:
    if len(body) > settings.HOOK_MAX_BODY_BYTES:
        raise HookRefused(413, "The hook payload is larger than HOOK_MAX_BODY_BYTES.")
    try:
        payload = json_rules.loads(body)
    except json_rules.HostileValue as exc:
        raise HookRefused(400, f"The hook payload was refused: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HookRefused(400, f"The body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise HookRefused(400, "A hook payload is a JSON object.")
    _check_duration(payload.get("duration_ms"))
    if default_event:
        payload.setdefault("hook_event_name", default_event)
    if payload.get("hook_event_name") in INTERNAL_EVENTS:
        raise HookRefused(400, "That event name is reserved for the orchestrator itself.")
    return payload


def _check_duration(value: object) -> None:
    # Only numbers are stored (anything else is ignored, as before); they must fit the column.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and not 0 <= value <= MAX_DURATION_MS:
        raise HookRefused(
            400, f"duration_ms: must be a number of milliseconds from 0 to {MAX_DURATION_MS}."
        )
