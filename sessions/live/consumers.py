"""The WebSocket live view of one session: `/ws/sessions/<uuid>/?after=<seq>`.

The consumer only authenticates, authorizes and forwards: everything it sends comes from
`follow()`, the same catch-up-then-live subscription that the SSE stream uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from tenants import json_rules
from tenants.api.authentication import authenticate_token
from tenants.tenancy import acting_as

from .. import selectors
from ..api.pagination import MAX_SEQ
from .feed import follow

logger = logging.getLogger(__name__)


class SessionLiveConsumer(AsyncJsonWebsocketConsumer):
    forwarding: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        after = cursor_from_query(self.scope.get("query_string", b""))
        if user is None or not user.is_authenticated or after is None:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        try:
            session = await database_sync_to_async(authorized_session)(user, session_id)
        except Http404:
            await self.close()
            return
        await self.accept()
        self.forwarding = asyncio.create_task(
            self.forward(session_id, after, session.organization_id)
        )

    async def forward(self, session_id, after: int, organization_id) -> None:
        try:
            # aclosing: the generator leaves the group even when cancelled mid-send.
            following = follow(session_id, after, organization_id=organization_id)
            async with contextlib.aclosing(following) as events:
                async for event in events:
                    await self.send(text_data=encoded(session_id, event))
        except Exception:
            # A viewer left on an open but silent socket would think nothing happens:
            # close, and the client reconnects from its last seq.
            logger.exception("live view of session %s failed", session_id)
            await self.close(code=1011)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The live view only sends. A frame from the client is answered with an error frame
        naming what is wrong with it (the socket stays open); nothing else is done with it."""
        await self.send_json({"kind": "error", "detail": frame_refusal(text_data)})

    async def disconnect(self, code: int) -> None:
        if self.forwarding is not None:
            self.forwarding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.forwarding


# Every viewer of a session in this process is sent the same text for an event: encode it
# once, not once per viewer (with a hundred viewers, encoding was most of the fan-out's CPU).
_ENCODED: OrderedDict[tuple, str] = OrderedDict()
ENCODED_KEPT = 2048


def encoded(session_id, event: dict) -> str:
    """`event` as the JSON text a viewer is sent, from a small cache keyed by its place."""
    seq = event.get("seq")
    if seq is None:  # status and hook events: rare, and not identified by a seq
        return json.dumps(event)
    key = (str(session_id), seq, event.get("kind"))
    text = _ENCODED.get(key)
    if text is None:
        text = _ENCODED[key] = json.dumps(event)
        if len(_ENCODED) > ENCODED_KEPT:
            _ENCODED.popitem(last=False)
    return text


def authorized_session(user, session_id):
    """The session if the user may watch it (404 otherwise), read in the user's context; the
    events that follow are read in the session's organization's (feed.follow)."""
    with acting_as(user, f"live view of session {session_id}"):
        return selectors.get_session_for(user, session_id)


def frame_refusal(text_data: str | None) -> str:
    if text_data is None:
        return "Binary frames are not taken: this socket only sends events."
    try:
        json_rules.loads(text_data)
    except json_rules.HostileValue as exc:
        return f"The frame was refused: {exc}"
    except ValueError:
        return "The frame is not JSON; and this socket only sends events."
    return "This socket only sends events; it takes no messages."


class NoSuchSocket(AsyncWebsocketConsumer):
    """Every WebSocket path that is not a live view: the handshake is refused (HTTP 403)."""

    async def connect(self) -> None:
        await self.close()


def cursor_from_query(query_string: bytes) -> int | None:
    """`?after=<seq>` (default 0); None when it is not a non-negative integer."""
    values = parse_qs(query_string.decode("latin1")).get("after")
    if not values:
        return 0
    try:
        after = int(values[-1])
    except ValueError:
        return None
    return after if 0 <= after <= MAX_SEQ else None


class QueryTokenAuthMiddleware(BaseMiddleware):
    """`?token=<API token>` authenticates a WebSocket: browsers cannot set headers on
    one. Without the parameter the session cookie (AuthMiddlewareStack, outside) stands; with
    a token that matches no active user, the connection is anonymous and so refused."""

    async def __call__(self, scope, receive, send):
        values = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token")
        if values:
            scope = dict(scope, user=await user_for_token(values[-1]))
        return await super().__call__(scope, receive, send)


@database_sync_to_async
def user_for_token(token: str):
    """The user an API token belongs to, as the REST API would authenticate it (hashed,
    unexpired, unrevoked); anonymous otherwise."""
    row = authenticate_token(token)
    return AnonymousUser() if row is None else row.user
