"""ASGI entry point: HTTP (API, admin, SSE streams) and the WebSocket live view."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
# Set Django up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from orchestrator.origins import StrictOriginValidator  # noqa: E402
from sessions.hooks import asgi as asgi_hooks  # noqa: E402
from sessions.live.consumers import (  # noqa: E402
    NoSuchSocket,
    QueryTokenAuthMiddleware,
    SessionLiveConsumer,
)

websocket_urlpatterns = [
    path("ws/sessions/<uuid:session_id>/", SessionLiveConsumer.as_asgi()),
    # Last: any other path is refused at the handshake instead of raising in the router.
    re_path(r"", NoSuchSocket.as_asgi()),
]


async def http_app(scope, receive, send) -> None:
    """Hook posts take the lean path; everything else is Django."""
    app = asgi_hooks.hook_app if asgi_hooks.handles(scope) else django_asgi_app
    await app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        # Origin check first: a cookie-authenticated socket must not open from another site.
        "websocket": StrictOriginValidator(
            AuthMiddlewareStack(QueryTokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
