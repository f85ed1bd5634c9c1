"""Live transports over plain HTTP, for viewers that cannot or do not use the WebSocket.

- `GET /api/sessions/<uuid>/stream`: Server-Sent Events, fed by `follow()`.
- `GET /api/sessions/<uuid>/events/`: the adaptive-poll fallback, one page of events with
  an ETag, so a poll that finds nothing new costs one indexed read (or a 304).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import parse_etags
from django.views.decorators.http import require_GET
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..api.pagination import MAX_SEQ, SeqCursor
from .consumers import authorized_session, user_for_token
from .feed import events_after, follow

DEFAULT_HEARTBEAT_SECONDS = 15.0
# Tells EventSource how long to wait before it reconnects (with Last-Event-ID).
RETRY_DIRECTIVE = b"retry: 3000\n\n"
HEARTBEAT = b": keep-alive\n\n"

logger = logging.getLogger(__name__)


# --- Server-Sent Events -----------------------------------------------------------------


@require_GET
async def session_stream(request: HttpRequest, session_id) -> HttpResponse:
    user = await _viewer(request)
    if user is None:
        response = JsonResponse({"detail": "Authentication credentials were not provided."})
        response.status_code = 401
        response["WWW-Authenticate"] = "Token"
        return response
    try:
        session = await database_sync_to_async(authorized_session)(user, session_id)
    except Http404:
        return JsonResponse({"detail": "No such session."}, status=404)
    after = _resume_cursor(request)
    if after is None:
        return JsonResponse(
            {"detail": "Last-Event-ID and ?after= take a non-negative integer seq."}, status=400
        )
    heartbeat = float(getattr(settings, "LIVE_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS))
    response = StreamingHttpResponse(
        # The stream outlives the request's context: its reads carry the organization.
        _sse(follow(session_id, after, organization_id=session.organization_id), heartbeat),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    # nginx (and proxies that honour it) would otherwise hold events back in a buffer.
    response["X-Accel-Buffering"] = "no"
    return response


async def _viewer(request: HttpRequest):
    """`Authorization: Token <key>` or the session cookie; None when neither authenticates."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "token":
        user = await user_for_token(key.strip())
    else:
        user = await request.auser()
    return user if user.is_authenticated else None


def _resume_cursor(request: HttpRequest) -> int | None:
    # EventSource reconnects to the same URL (its ?after= included) and adds Last-Event-ID,
    # which is the newer position: it wins.
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        after = int(raw)
    except ValueError:
        return None
    return after if 0 <= after <= MAX_SEQ else None


def sse_frame(event: dict) -> bytes:
    """One event; `id:` only on seq'd events, so a status event never moves the cursor."""
    lines = [f"id: {event['seq']}"] if event.get("seq") is not None else []
    lines.append(f"event: {event.get('kind', 'message')}")
    # JSON escapes newlines, so the data always fits on one `data:` line.
    lines.append(f"data: {json.dumps(event, separators=(',', ':'), default=str)}")
    return ("\n".join(lines) + "\n\n").encode()


async def _sse(events: AsyncIterator[dict], heartbeat: float) -> AsyncIterator[bytes]:
    yield RETRY_DIRECTIVE  # also gets the headers out before the first event
    # The pending read survives heartbeats: cancelling it would end the subscription.
    pending: asyncio.Task | None = None
    try:
        while True:
            pending = pending or asyncio.create_task(_next(events))
            done, _ = await asyncio.wait({pending}, timeout=heartbeat)
            if not done:
                yield HEARTBEAT
                continue
            done_task, pending = pending, None
            try:
                event = done_task.result()
            except Exception:
                # End the response: the browser reconnects with Last-Event-ID and resumes
                # exactly, where a stream left open but dead would stay silent for ever.
                logger.exception("live stream failed; closing it so the client reconnects")
                return
            if event is None:
                return
            yield sse_frame(event)
    finally:
        # The client left (Django cancels or closes us): leave the group now, not at GC.
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
        await events.aclose()


async def _next(events: AsyncIterator[dict]) -> dict | None:
    return await anext(events, None)


# --- adaptive poll ----------------------------------------------------------------------


class SessionEventsView(APIView):
    """One page of the session's logs and messages after `?after=`, in seq order. The ETag is
    the session's last seq and status: poll with If-None-Match and an idle session answers
    304 after one query."""

    @extend_schema(
        operation_id="sessions_events_list",
        parameters=[
            OpenApiParameter("after", int, description="Only events with a greater seq."),
            OpenApiParameter("limit", int, description="Page size, 1 to 500 (default 100)."),
            OpenApiParameter(
                "turns_after",
                int,
                description="Also answer `turns`: the ended turns numbered above this one.",
            ),
        ],
        responses={
            200: inline_serializer(
                name="SessionEventPage",
                fields={
                    "results": serializers.ListField(child=serializers.DictField()),
                    "next_after": serializers.IntegerField(),
                    "has_more": serializers.BooleanField(),
                    "status": serializers.CharField(),
                    "last_seq": serializers.IntegerField(),
                    "turns": serializers.ListField(child=serializers.DictField()),
                },
            ),
            304: OpenApiResponse(description="Nothing changed since the ETag sent."),
        },
    )
    def get(self, request: Request, session_id) -> Response:
        cursor = SeqCursor(data=request.query_params)
        cursor.is_valid(raise_exception=True)
        after, limit = cursor.validated_data["after"], cursor.validated_data["limit"]
        session = selectors.get_session_for(request.user, session_id)
        etag = f'"{session.last_seq}-{session.status}"'
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if _matches(request.headers.get("If-None-Match", ""), etag):
            return Response(status=304, headers=headers)
        # Nothing can lie beyond last_seq: an idle poll needs no other query.
        rows = [] if after >= session.last_seq else events_after(session.pk, after, limit + 1)
        page = rows[:limit]
        body = {
            "results": page,
            "next_after": page[-1]["seq"] if page else after,
            "has_more": len(rows) > limit,
            "status": session.status,
            "last_seq": session.last_seq,
        }
        # Turn separators carry no seq of their own (a turn may end after its last event
        # was seen): a client asks for those after the last turn number it knows.
        turns_after = request.query_params.get("turns_after", "")
        if turns_after.isdigit() and len(turns_after) < 10:
            body["turns"] = [
                turn.as_event() for turn in selectors.turns_of(session, int(turns_after))
            ]
        return Response(body, headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.removeprefix("W/") for tag in parse_etags(if_none_match)]
    return "*" in tags or etag in tags
