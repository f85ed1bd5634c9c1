"""`Authorization: Token <token>`, checked against the stored digests of API tokens."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from .. import selectors, services, tenancy
from ..models import ApiToken, token_digest

KEYWORD = "Token"


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send 'Authorization: Token <token>', one token.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        row = authenticate_token(token)
        if row is None:
            raise AuthenticationFailed("Invalid, expired or revoked token.")
        return row.user, row

    def authenticate_header(self, request) -> str:
        return KEYWORD


def authenticate_token(token: str) -> ApiToken | None:
    """The live token row for a presented token, its use noted; None if it is not one.

    Nothing is known of the caller yet, so the holder is found first (one id, through a
    function that sees past row-level security), and the token is read in their context."""
    holder = tenancy.api_token_holder(token_digest(token))
    if holder is None:
        return None
    with tenancy.acting_as(holder, "API token of a platform account"):
        row = selectors.active_api_token(token)
        if row is not None:
            services.note_token_use(row)
    return row


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes this authentication."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token from POST /api/auth/token/, as "Token <token>".',
        }
