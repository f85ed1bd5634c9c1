"""Whose integration a webhook names, before any tenant context exists: the webhook knows
only the integration's id until its signature is checked, and the signature's secret is a row
under row-level security. A SECURITY DEFINER function (migration 0001, like the sessions'
`rls_session_organization`) answers that one uuid, never a row; the request then enters that
organization's context to read the integration and check the signature."""

from __future__ import annotations

import uuid

from django.db import connection

from .models import Integration

INTEGRATION_ORGANIZATION_SQL = "SELECT rls_integration_organization(%s)"


def integration_organization(integration_id) -> uuid.UUID | None:
    try:
        integration_id = uuid.UUID(str(integration_id))
    except ValueError:
        return None
    if connection.vendor != "postgresql":
        # No row-level security here: the model answers directly.
        return (
            Integration.objects.filter(pk=integration_id)
            .values_list("organization_id", flat=True)
            .first()
        )
    with connection.cursor() as cursor:
        cursor.execute(INTEGRATION_ORGANIZATION_SQL, [str(integration_id)])
        row = cursor.fetchone()
    return row[0] if row else None
