"""Taking one hook post, independent of the web framework in front of it.

`receive_hook()` is the whole contract of `POST /api/hooks/`: size limit, hook-token
authentication, JSON parsing, ingestion and the answer. The DRF view (schema, test client,
WSGI) and the lean ASGI route in `sessions/hooks/asgi.py` (the hot path under an ASGI server,
without middleware and DRF, and without a thread hop when the token is cached) both go
through the steps below (`authenticate`, `admit`, then the writer, then `answer`), so they
cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from tenants import json_rules

from .. import ingest
from ..choices import SessionMode
from ..ingest import INTERNAL_EVENTS, IngestRefused, IngestResult, Submission
from . import credentials
from . import stats as hook_stats
from .credentials import Credential

# CommandLog.duration_ms is a 32-bit column on PostgreSQL.
MAX_DURATION_MS = 2**31 - 1
AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="hooks"'}
MANAGED_REFUSAL = (
    "This is a managed session: its runner records its events in-process, and hook posts "
    "into it are refused. Attach your own Claude Code to an attached session instead."
)


@dataclass
class HookAnswer:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


def receive_hook(
    *,
    authorization: str,
    body: bytes,
    event_id: str = "",
    expected_session: str = "",
    default_event: str = "",
    replayed: bool = False,
) -> HookAnswer:
    """Take one hook post in the calling thread (it waits for the writer's commit)."""
    credential = None
    try:
        credential = authenticate(authorization)
        item = admit(
            credential,
            body=body,
            event_id=event_id,
            expected_session=expected_session,
            default_event=default_event,
        )
        outcome = ingest.submit(item).result()
    except IngestRefused as refused:
        return counted(refusal(refused), credential, replayed=replayed)
    except Exception:
        counted(HookAnswer(500, {}), credential, replayed=replayed)
        raise
    return counted(answer(item, outcome, credential), credential, replayed=replayed)


def counted(
    hook_answer: HookAnswer, credential: Credential | None, *, replayed: bool
) -> HookAnswer:
    """Delivery health for alerting (`hooks/stats.py`): the post's outcome, counted for its
    session's organization (a token that names none is nobody's health)."""
    if credential is not None:
        outcome = hook_stats.outcome_of(hook_answer.status, replayed=replayed)
        hook_stats.record(credential.organization_id, outcome)
    return hook_answer


def authenticate(authorization: str, *, known: Credential | None = None) -> Credential:
    """The session whose hook token is presented as `Bearer <token>` (from the cache when
    this process knows it: no query). Raises IngestRefused (401, 403)."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise IngestRefused("Send the hook token as 'Authorization: Bearer <token>'.", status=401)
    credential = known or credentials.lookup(token.strip())
    if credential is None:
        raise IngestRefused("Invalid hook token.", status=401)
    if credential.mode == SessionMode.MANAGED:
        raise IngestRefused(MANAGED_REFUSAL, status=403)
    return credential


def admit(
    credential: Credential,
    *,
    body: bytes,
    event_id: str = "",
    expected_session: str = "",
    default_event: str = "",
) -> Submission:
    """Check and parse a post of an authenticated session into what the writer takes."""
    session_id = credential.session_id
    if expected_session and expected_session not in (str(session_id), session_id.hex):
        raise IngestRefused("This hook token belongs to another session.", status=403)
    return ingest.prepare(
        session_id=session_id,
        organization_id=credential.organization_id,
        payload=parse(body, default_event),
        event_id=event_id[:100],
        token_hash=credential.token_hash,
    )


def answer(item: Submission, outcome, credential: Credential) -> HookAnswer:
    """The answer once the writer has committed (or refused) the event."""
    if isinstance(outcome, IngestRefused):
        if outcome.status == 401:  # rotated or revoked since this process cached it
            credentials.forget(credential)
        return refusal(outcome)
    assert isinstance(outcome, IngestResult)
    if item.asks_decision:
        return HookAnswer(200, outcome.response)
    return HookAnswer(200, {"ok": True, "seq": outcome.seq, "duplicate": outcome.duplicate})


def refusal(refused: IngestRefused) -> HookAnswer:
    headers = {**AUTHENTICATE, **refused.headers} if refused.status == 401 else refused.headers
    return HookAnswer(refused.status, {"detail": refused.detail}, headers)


def parse(body: bytes, default_event: str = "") -> dict:
    if len(body) > settings.HOOK_MAX_BODY_BYTES:
        raise IngestRefused("The hook payload is larger than HOOK_MAX_BODY_BYTES.", status=413)
    try:
        payload = json_rules.loads(body)
    except json_rules.HostileValue as exc:
        raise IngestRefused(f"The hook payload was refused: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise IngestRefused(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise IngestRefused("A hook payload is a JSON object.")
    _check_duration(payload.get("duration_ms"))
    if default_event:
        payload.setdefault("hook_event_name", default_event)
    if payload.get("hook_event_name") in INTERNAL_EVENTS:
        raise IngestRefused("That event name is reserved for the orchestrator itself.")
    return payload


def _check_duration(value: object) -> None:
    # Only numbers are stored (anything else is ignored, as before); they must fit the column.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and not 0 <= value <= MAX_DURATION_MS:
        raise IngestRefused(
            f"duration_ms: must be a number of milliseconds from 0 to {MAX_DURATION_MS}."
        )
