"""The hook hot path under ASGI: `POST /api/hooks/` without middleware or DRF.

Claude Code waits on every PreToolUse answer, and a busy session sends many events. These two
URLs go straight to the intake steps (no middleware chain, no DRF dispatch): with the token
in this process's credential cache, the post is authenticated, parsed and handed to the
writer on the event loop itself, and answered when the writer's batch commits, without a
thread hop or a query of its own. A token not cached yet (or a large body) is taken in a
thread. The answers are byte-for-byte what the DRF view gives. Everything else goes to
Django as usual.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from ..ingest import IngestRefused, submit_to_writer
from . import credentials, intake
from .intake import HookAnswer

# Bodies up to this size are parsed on the event loop (well under a millisecond); larger
# ones in a thread, so one big tool output does not hold up every other connection.
PARSE_IN_LOOP_BYTES = 64 * 1024
ROUTES = {"/api/hooks/": "", "/api/hooks/tool-complete": "PostToolUse"}


def handles(scope: dict) -> bool:
    return scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in ROUTES


async def hook_app(scope, receive, send) -> None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    body = await _read_body(receive, settings.HOOK_MAX_BODY_BYTES)
    if body is None:
        answer = HookAnswer(413, {"detail": "The hook payload is larger than HOOK_MAX_BODY_BYTES."})
    else:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        answer = await _receive(
            authorization=headers.get("authorization", ""),
            body=body,
            event_id=headers.get("x-hook-event-id", ""),
            replayed=headers.get("x-hook-replay") == "1",
            expected_session=query.get("session", [""])[0],
            default_event=ROUTES[scope["path"]],
        )
    await _respond(send, answer)


async def _receive(**post) -> HookAnswer:
    _, _, token = post["authorization"].strip().partition(" ")
    known = credentials.cached(token.strip()) if token.strip() else None
    if known is None or len(post["body"]) > PARSE_IN_LOOP_BYTES or _inline():
        return await _receive_in_thread(**post)
    replayed = post.pop("replayed")
    try:
        credential = intake.authenticate(post.pop("authorization"), known=known)
        item = intake.admit(credential, **post)
    except IngestRefused as refused:
        return intake.counted(intake.refusal(refused), known, replayed=replayed)
    outcome = await submit_to_writer(item)
    return intake.counted(intake.answer(item, outcome, credential), credential, replayed=replayed)


def _inline() -> bool:
    return settings.INGEST_WRITER == "inline"


async def _read_body(receive, limit: int) -> bytes | None:
    """The request body, or None once it grows past `limit` (the rest is not read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


@sync_to_async(thread_sensitive=False)
def _receive_in_thread(**post) -> HookAnswer:
    # As Django does around each request: no connection outlives its use (the pool takes it).
    close_old_connections()
    try:
        return intake.receive_hook(**post)
    finally:
        close_old_connections()


async def _respond(send, answer: HookAnswer) -> None:
    body = json.dumps(answer.body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
