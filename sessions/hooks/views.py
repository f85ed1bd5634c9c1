"""`POST /api/hooks/`: Claude Code hook events, authenticated by the session's hook token.

Under an ASGI server the same URLs are answered by `sessions.hooks.asgi` first (the hot path,
without middleware and DRF); this view serves the schema, WSGI and the test client. Both call
`sessions.hooks.intake.receive_hook`.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .intake import receive_hook


class HookAnswerSerializer(serializers.Serializer):
    ok = serializers.BooleanField(required=False)
    seq = serializers.IntegerField(required=False, allow_null=True)
    duplicate = serializers.BooleanField(required=False)
    hookSpecificOutput = serializers.DictField(required=False)  # noqa: N815 (Claude Code's name)


class HookView(APIView):
    """Take one hook event. Answers PreToolUse in Claude Code's own decision format."""

    # The hook token is checked by receive_hook; no user authentication applies here.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []
    default_event = ""

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={200: HookAnswerSerializer},
        parameters=[
            OpenApiParameter("X-Hook-Event-Id", str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("session", str, description="Optional: the session id expected."),
        ],
    )
    def post(self, request):
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.HOOK_MAX_BODY_BYTES:
            return Response(
                {"detail": "The hook payload is larger than HOOK_MAX_BODY_BYTES."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        answer = receive_hook(
            authorization=request.headers.get("Authorization", ""),
            body=request.body,
            event_id=request.headers.get("X-Hook-Event-Id", ""),
            replayed=request.headers.get("X-Hook-Replay") == "1",
            expected_session=request.query_params.get("session", ""),
            default_event=self.default_event,
        )
        return Response(answer.body, status=answer.status, headers=answer.headers)


class ToolCompleteView(HookView):
    """The seed dashboard's endpoint, kept as an alias: a PostToolUse event."""

    default_event = "PostToolUse"
