"""`POST /api/hooks/`: Claude Code hook events, authenticated by the session's hook token."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import hook_tokens
from ..ingest import INTERNAL_EVENTS, IngestError, ingest
from ..models import Session


class HookTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <hook token>`; the authenticated thing is the session."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the hook token as 'Authorization: Bearer <token>'.")
        token = parts[1].decode(errors="replace")
        session_id = hook_tokens.session_id_of(token)
        session = Session.objects.filter(pk=session_id).first() if session_id else None
        if session is None or not hook_tokens.matches(token, session.hook_token_hash):
            raise AuthenticationFailed("Invalid hook token.")
        return AnonymousUser(), session

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="hooks"'


class HasHookToken(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Session)


class HookAnswer(serializers.Serializer):
    ok = serializers.BooleanField(required=False)
    seq = serializers.IntegerField(required=False, allow_null=True)
    duplicate = serializers.BooleanField(required=False)
    hookSpecificOutput = serializers.DictField(required=False)  # noqa: N815 (Claude Code's name)


class HookView(APIView):
    """Take one hook event. Answers PreToolUse in Claude Code's own decision format."""

    authentication_classes = [HookTokenAuthentication]
    permission_classes = [HasHookToken]
    # The body is read raw: its size is checked before anything parses it.
    parser_classes: list = []
    default_event: str | None = None

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={200: HookAnswer},
        parameters=[
            OpenApiParameter("X-Hook-Event-Id", str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("session", str, description="Optional: the session id expected."),
        ],
    )
    def post(self, request):
        session: Session = request.auth
        expected = request.query_params.get("session")
        if expected and expected not in (str(session.pk), session.pk.hex):
            raise PermissionDenied("This hook token belongs to another session.")
        payload = self._payload(request)
        try:
            result = ingest(
                session=session,
                payload=payload,
                event_id=request.headers.get("X-Hook-Event-Id", "")[:100],
            )
        except IngestError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        if payload.get("hook_event_name") == "PreToolUse":
            return Response(result.response)
        return Response({"ok": True, "seq": result.seq, "duplicate": result.duplicate})

    def _payload(self, request) -> dict:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        if size > settings.HOOK_MAX_BODY_BYTES or len(request.body) > settings.HOOK_MAX_BODY_BYTES:
            raise PayloadTooLarge()
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadPayload(f"The body is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise BadPayload("A hook payload is a JSON object.")
        if self.default_event:
            payload.setdefault("hook_event_name", self.default_event)
        if payload.get("hook_event_name") in INTERNAL_EVENTS:
            raise BadPayload("That event name is reserved for the orchestrator itself.")
        return payload


class ToolCompleteView(HookView):
    """The seed dashboard's endpoint, kept as an alias: a PostToolUse event."""

    default_event = "PostToolUse"


class PayloadTooLarge(serializers.ValidationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The hook payload is larger than HOOK_MAX_BODY_BYTES."

    def __init__(self):
        super().__init__({"detail": self.default_detail})


class BadPayload(serializers.ValidationError):
    def __init__(self, message: str):
        super().__init__({"detail": message})
