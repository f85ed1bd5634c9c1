"""Which web pages may open a WebSocket here: the Origin's scheme, host AND port must match.

A cookie-authenticated socket opened by another site's page would act as the user (browsers
send cookies with WebSocket handshakes, and CORS does not apply), so the Origin is checked
before anything else. It passes when it is one of CSRF_TRUSTED_ORIGINS (wildcard subdomains
as Django reads them), or when its host is in ALLOWED_HOSTS and its scheme and port are the
server's own as the browser reached it: the Host header's port, and https when the socket is
secure or SECURE_PROXY_SSL_HEADER says the proxy in front took TLS.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


class StrictOriginValidator:
    """ASGI middleware: a WebSocket from an origin that does not match is refused (403)."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


def origin_allowed(scope: dict) -> bool:
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    origin = parse_origin(headers.get(b"origin", b"").decode("latin-1"))
    if origin is None:
        return False
    if any(matches(origin, trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS):
        return True
    own = own_origin(scope, headers)
    return (
        own is not None
        and (origin.scheme, origin.port) == (own.scheme, own.port)
        and validate_host(origin.host, settings.ALLOWED_HOSTS)
    )


def parse_origin(text: str) -> Origin | None:
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


def matches(origin: Origin, trusted: str) -> bool:
    """Whether `origin` is the CSRF_TRUSTED_ORIGINS entry `trusted` (`https://*.x.com` too)."""
    wildcard = "://*." in trusted
    expected = parse_origin(trusted.replace("://*.", "://", 1) if wildcard else trusted)
    if expected is None or (origin.scheme, origin.port) != (expected.scheme, expected.port):
        return False
    if wildcard:
        return is_same_domain(origin.host, "." + expected.host)
    return origin.host == expected.host


def own_origin(scope: dict, headers: dict[bytes, bytes]) -> Origin | None:
    """The origin the browser reached this server at, from the handshake itself."""
    scheme = "https" if scope.get("scheme") == "wss" or _behind_tls_proxy(headers) else "http"
    host, port = split_domain_port(headers.get(b"host", b"").decode("latin-1"))
    if not host:
        return None
    try:
        return Origin(scheme, host, int(port) if port else DEFAULT_PORTS[scheme])
    except ValueError:
        return None


def _behind_tls_proxy(headers: dict[bytes, bytes]) -> bool:
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    name, secure_value = proxy_header
    # Django names it as a META key (HTTP_X_FORWARDED_PROTO); ASGI has the raw header.
    raw = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
    value = headers.get(raw, b"").decode("latin-1").split(",")[0].strip()
    return value == secure_value
