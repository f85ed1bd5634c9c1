"""Idempotency keys with Stripe's semantics, for every POST that creates something.

A client sends `Idempotency-Key: <key>` (or `idempotency_key` in the JSON body). The key is
scoped to the user (and so the organization) and the endpoint (the request path).

- The first request runs; its key row and everything it writes commit in ONE transaction,
  so a key is stored exactly when the request's effects are, and only for a 2xx answer:
  a request that fails validation (or fails at all) stores nothing and may be retried.
- A retry with the same parameters gets the stored status and body back, with
  `Idempotent-Replayed: true`.
- The same key with different parameters: 422.
- The same key while the first request is still running: concurrent retries wait on the
  key's unique index up to IDEMPOTENCY_WAIT_SECONDS (so a burst of retries all get the one
  answer), then get 409.
- Keys expire after IDEMPOTENCY_KEY_TTL_HOURS; a periodic job deletes expired ones and an
  expired key works anew.
- No secret is stored: an answer's secret fields (declared by the view) are left out of
  the stored copy, with a note saying how to get them again; a replay answers without them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
BODY_FIELD = "idempotency_key"
MAX_KEY_LENGTH = 255


def idempotent(handler=None, *, secrets: dict[str, str] | None = None):
    """Make a DRF view method (a POST handler) honour idempotency keys.

    `secrets` names the answer's secret fields and, for each, a note saying how to get it
    again: the stored answer keeps the note in its place (`<field>_note`), never the secret,
    so a replay answers without it (`@idempotent(secrets={"hook_token": "..."})`)."""
    if handler is None:
        return lambda handler: idempotent(handler, secrets=secrets)

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = _take_key(request)
        if request.method != "POST" or key is None:
            return handler(view, request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH:
            return Response(
                {"detail": f"An idempotency key is 1 to {MAX_KEY_LENGTH} characters."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        handle = lambda: handler(view, request, *args, **kwargs)  # noqa: E731
        return _run_once(request, key, handle, secrets or {})

    return wrapper


def _take_key(request) -> str | None:
    """The key from the header or the body; the body field is removed so serializers that
    refuse unknown fields never see it."""
    key = request.headers.get(HEADER)
    data = request.data
    if isinstance(data, dict) and BODY_FIELD in data:
        body_key = data.get(BODY_FIELD)
        # DRF caches the parsed body here; replacing it is how the field is taken out.
        request._full_data = {k: v for k, v in data.items() if k != BODY_FIELD}
        key = key or (body_key if isinstance(body_key, str) else "")
    return key.strip() if isinstance(key, str) else key


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _run_once(request, key: str, handle, secrets: dict[str, str]) -> Response:
    scope = {"user": request.user, "endpoint": request.path[:300], "key": key}
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        claimed = _claim(scope, fingerprint)
        if isinstance(claimed, Response):
            return claimed
        response = handle()
        if not 200 <= response.status_code < 300:
            # Nothing is stored for a refused request: undo the claim (the request wrote
            # nothing that must stay, having failed).
            transaction.set_rollback(True)
            return response
        _store(claimed, response, secrets)
    return response


def _claim(scope: dict, fingerprint: str) -> IdempotencyKey | Response:
    """Insert the key row, or answer from the one already there."""
    _remove_if_expired(scope)
    try:
        with transaction.atomic():
            _bound_lock_wait()
            return IdempotencyKey.objects.create(
                **scope,
                organization_id=scope["user"].organization_id,
                fingerprint=fingerprint,
                response_status=0,
                expires_at=timezone.now() + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
            )
    except OperationalError:
        return _in_flight()
    except IntegrityError:
        pass
    finally:
        _reset_lock_wait()
    existing = IdempotencyKey.objects.filter(**scope).first()
    if existing is None:
        return _in_flight()
    if existing.fingerprint != fingerprint:
        return Response(
            {"detail": "This idempotency key was used with different parameters."},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(
        existing.response_body,
        status=existing.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


def _in_flight() -> Response:
    return Response(
        {"detail": "A request with this idempotency key is still in progress; retry later."},
        status=status.HTTP_409_CONFLICT,
    )


def _store(record: IdempotencyKey, response: Response, secrets: dict[str, str]) -> None:
    record.response_status = response.status_code
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    if isinstance(body, dict):
        for field, note in secrets.items():
            if body.pop(field, None) is not None:
                body[f"{field}_note"] = note
    record.response_body = body
    record.save(update_fields=["response_status", "response_body"])


def _remove_if_expired(scope: dict) -> None:
    IdempotencyKey.objects.filter(**scope, expires_at__lte=timezone.now()).delete()


def _bound_lock_wait() -> None:
    # PostgreSQL: a concurrent request with the same key waits on the unique index until
    # the first commits; bound that wait. (SQLite serializes writers with its own timeout.)
    if connection.vendor == "postgresql":
        wait_ms = int(settings.IDEMPOTENCY_WAIT_SECONDS * 1000)
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {wait_ms}")


def _reset_lock_wait() -> None:
    if connection.vendor == "postgresql" and not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")


def expire_keys(*, now=None) -> int:
    """Delete expired keys (the periodic job); how many went."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
