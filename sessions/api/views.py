from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.permissions import CanControlOrReadOnly, CanControlSessions
from tenants.idempotency import idempotent

from .. import selectors, services
from ..choices import SessionMode, SessionStatus
from ..hooks import config as hook_config
from ..models import CommandLog, SessionMessage
from ..workspaces import changes, folders
from .filters import SessionFilter
from .pagination import SeqCursor, seq_page
from .serializers import (
    CommandLogSerializer,
    FollowUpSerializer,
    HookConfigSerializer,
    SessionCreatedSerializer,
    SessionMessageSerializer,
    SessionSerializer,
    SessionUpdateSerializer,
    StopSerializer,
    WorkspaceChangesSerializer,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Makes a retry safe: the first successful answer is replayed (24 h).",
)
# What a replayed creation says instead of the hook token, which no idempotency record keeps.
HOOK_TOKEN_NOTE = (
    "The hook token is shown once and not kept for replays: POST "
    "/api/sessions/{id}/hook-config/rotate/ issues a new one."
)
CURSOR_PARAMETERS = [
    OpenApiParameter("after", int, description="Only events with a greater seq."),
    OpenApiParameter("limit", int, description="Page size, 1 to 500 (default 100)."),
]


def _page_schema(name: str, item):
    return inline_serializer(
        name=name,
        fields={
            "results": item(many=True),
            "next_after": serializers.IntegerField(allow_null=True),
            "has_more": serializers.BooleanField(),
        },
    )


def _public_url(request) -> str:
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


class SessionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SessionSerializer
    permission_classes = [CanControlOrReadOnly]
    filterset_class = SessionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    # Anything that is not a UUID cannot be a session: the URL does not match, so 404.
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        return selectors.sessions_visible_to(self.request.user)

    def get_object(self):
        return selectors.get_session_for(self.request.user, self.kwargs["pk"])

    def perform_create(self, serializer):
        serializer.instance = services.create_session(
            organization=self.request.user.organization,
            actor=self.request.user,
            **serializer.validated_data,
        )

    @extend_schema(responses={201: SessionCreatedSerializer}, parameters=[IDEMPOTENCY_KEY])
    @idempotent(secrets={"hook_token": HOOK_TOKEN_NOTE})
    def create(self, request, *args, **kwargs):
        if request.user.organization_id is None:
            return Response(
                {
                    "detail": "Platform superusers belong to no organization; "
                    "log in as a member of one to create sessions."
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        response = super().create(request, *args, **kwargs)
        # The one time an attached session's hook token is shown; only its hash is stored.
        response.data["hook_token"] = response.data.serializer.instance.new_hook_token
        return response

    @extend_schema(request=SessionUpdateSerializer, responses={200: SessionSerializer})
    def partial_update(self, request, *args, **kwargs):
        session = self.get_object()
        changes = SessionUpdateSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        session = services.update_session(
            session=session, actor=request.user, **changes.validated_data
        )
        return Response(SessionSerializer(session).data)

    @extend_schema(
        request=StopSerializer, responses={200: SessionSerializer}, parameters=[IDEMPOTENCY_KEY]
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def stop(self, request, pk=None):
        session = self.get_object()
        data = StopSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.stop_session(
            session=session, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(SessionSerializer(session).data)

    @extend_schema(
        methods=["GET"],
        parameters=CURSOR_PARAMETERS,
        responses={200: _page_schema("SessionMessagePage", SessionMessageSerializer)},
    )
    @extend_schema(
        methods=["POST"],
        request=FollowUpSerializer,
        responses={202: SessionMessageSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["get", "post"])
    @idempotent
    def messages(self, request, pk=None):
        if request.method == "GET":
            return self._events(SessionMessage, SessionMessageSerializer)
        session = self.get_object()
        data = FollowUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.send_message(
            session=session, actor=request.user, content=data.validated_data["content"]
        )
        return Response(SessionMessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: HookConfigSerializer})
    @action(
        detail=True,
        methods=["get"],
        url_path="hook-config",
        permission_classes=[CanControlSessions],
    )
    def hook_config(self, request, pk=None):
        session = self.get_object()
        return Response(hook_config.describe(session=session, base_url=_public_url(request)))

    @extend_schema(request=None, responses={200: HookConfigSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="hook-config/rotate",
        permission_classes=[CanControlSessions],
    )
    def rotate_hook_token(self, request, pk=None):
        """A new hook token for an attached session (admins and the session's creator); the
        old one stops working. The answer is the one time the new token is shown."""
        session = self.get_object()
        if not (request.user.is_org_admin or session.created_by_id == request.user.pk):
            raise PermissionDenied("Only organization admins and the session's creator may.")
        token = services.rotate_hook_token(session=session, actor=request.user)
        described = hook_config.describe(
            session=session, base_url=_public_url(request), token=token
        )
        return Response(described)

    @extend_schema(
        parameters=CURSOR_PARAMETERS,
        responses={200: _page_schema("CommandLogPage", CommandLogSerializer)},
    )
    @action(detail=True, methods=["get"])
    def logs(self, request, pk=None):
        return self._events(CommandLog, CommandLogSerializer)

    def _events(self, model, serializer_class):
        session = self.get_object()
        cursor = SeqCursor(data=self.request.query_params)
        cursor.is_valid(raise_exception=True)
        after, limit = cursor.validated_data["after"], cursor.validated_data["limit"]
        rows = selectors.events_after(model, session, after, limit + 1)
        return Response(seq_page(rows, limit, serializer_class))


# --- files changed: the workspace against the state it started from -----------------------

WORKSPACE_UNAVAILABLE = inline_serializer(
    name="WorkspaceUnavailable",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.ChoiceField(
            choices=[
                "attached",
                "not_prepared",
                "workspace_missing",
                "baseline_missing",
                "timeout",
                "git_failed",
            ]
        ),
    },
)


def _workspace_of(session) -> Path:
    """The session's workspace on this server, or ChangesUnavailable saying why there is
    none to read."""
    if session.mode == SessionMode.ATTACHED:
        raise changes.ChangesUnavailable(
            "attached",
            "An attached session runs on its user's machine; its files are not on the server.",
        )
    if not session.project_path and session.status in (
        SessionStatus.PENDING,
        SessionStatus.PREPARING,
    ):
        raise changes.ChangesUnavailable(
            "not_prepared", "The workspace is still being prepared; try again in a moment."
        )
    return folders.workspace_path(organization_id=session.organization_id, session_id=session.pk)


def _unavailable(exc: changes.ChangesUnavailable) -> Response:
    return Response({"detail": str(exc), "code": exc.code}, status=status.HTTP_409_CONFLICT)


class SessionChangesView(APIView):
    """Read access: whoever may view the session (the default IsAuthenticated plus the
    tenant-scoped lookup)."""

    @extend_schema(
        operation_id="sessions_changes",
        summary="Files the session changed in its workspace",
        description=(
            "The files the session added, modified and deleted in its workspace against the "
            "state it was prepared in (untracked files included, .gitignore honoured), each "
            "with its unified diff. Binary files and files over "
            "WORKSPACE_CHANGES_MAX_DIFFED_FILE_BYTES are named with their sizes, not dumped. "
            "At most `limits.max_files` files are listed and the diffs are cut at "
            "`limits.max_file_diff_bytes` each and `limits.max_total_diff_bytes` together; "
            "`files_truncated`, `diff_truncated` and each file's `diff_truncated` say so. "
            "409 with a `code` when there is no workspace to read."
        ),
        responses={200: WorkspaceChangesSerializer, 404: None, 409: WORKSPACE_UNAVAILABLE},
    )
    def get(self, request, session_id):
        session = selectors.get_session_for(request.user, session_id)
        try:
            found = changes.workspace_changes(_workspace_of(session))
        except changes.ChangesUnavailable as exc:
            return _unavailable(exc)
        return Response(
            WorkspaceChangesSerializer(
                {
                    "session": session.pk,
                    "files": [{**vars(entry), "symlink": entry.symlink} for entry in found.files],
                    "counts": found.counts,
                    "additions": found.additions,
                    "deletions": found.deletions,
                    "files_truncated": found.files_truncated,
                    "diff_truncated": found.diff_truncated,
                    "limits": changes.limits(),
                    "archive_url": reverse("session-archive", args=[session.pk]),
                }
            ).data
        )


class SessionArchiveView(APIView):
    @extend_schema(
        operation_id="sessions_archive",
        summary="Download the session's workspace as a tar.gz",
        description=(
            "The workspace as it is now, streamed as a gzip-compressed tar. Links are stored "
            "as links (never followed), sockets, pipes and devices are left out. The "
            "workspace's own `.git` folder is left out unless `include_git=true`."
        ),
        parameters=[
            OpenApiParameter(
                "include_git", bool, description="Include the workspace's .git folder."
            )
        ],
        responses={
            (200, "application/gzip"): OpenApiTypes.BINARY,
            400: None,
            404: None,
            409: WORKSPACE_UNAVAILABLE,
        },
    )
    def get(self, request, session_id):
        session = selectors.get_session_for(request.user, session_id)
        options = ArchiveOptionsSerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        try:
            chunks = changes.archive_chunks(
                _workspace_of(session), include_git=options.validated_data["include_git"]
            )
        except changes.ChangesUnavailable as exc:
            return _unavailable(exc)
        response = StreamingHttpResponse(_served(chunks, request), content_type="application/gzip")
        response["Content-Disposition"] = (
            f'attachment; filename="session-{str(session.pk)[:8]}-workspace.tar.gz"'
        )
        return response


class ArchiveOptionsSerializer(serializers.Serializer):
    include_git = serializers.BooleanField(required=False, default=False)


def _served(chunks: Iterator[bytes], request) -> Iterator[bytes] | AsyncIterator[bytes]:
    """Under ASGI a plain iterator would be read whole into memory before the first byte
    goes out; an async one hands over each chunk as it is made."""
    if not isinstance(request._request, ASGIRequest):
        return chunks

    async def each_chunk():
        done = object()
        take = sync_to_async(next, thread_sensitive=False)
        try:
            while (chunk := await take(chunks, done)) is not done:
                yield chunk
        finally:
            await sync_to_async(chunks.close, thread_sensitive=False)()

    return each_chunk()
