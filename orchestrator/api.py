"""Project-wide API glue: errors a client causes become clear 4xx answers, never a 500."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from sessions.services import SessionStateError
from tenants.quotas import QuotaExceeded

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, QuotaExceeded):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response(exc.as_dict(), status=status.HTTP_429_TOO_MANY_REQUESTS, headers=headers)
    if isinstance(exc, SessionStateError):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DatabaseError):
        # Every write is one transaction, so a failed one left nothing behind: say so.
        logger.exception("database error in %s", context.get("view"))
        return Response(
            {
                "detail": "The database could not complete the request; nothing was saved. "
                "Retry (with the same Idempotency-Key) later."
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return drf_exception_handler(exc, context)
