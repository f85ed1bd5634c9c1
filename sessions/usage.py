"""An organization's use of sessions and disk, for its quotas.

The counts are indexed reads, registered with tenants (tenants.activity) so that tenants can
count without importing sessions. The disk is walked by the periodic job `measure_usage`,
which stores its findings through tenants.services.record_usage."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from tenants import services as tenant_services
from tenants.models import Organization
from tenants.tenancy import platform_bypass

from .choices import ACTIVE_STATUSES, SessionMode
from .models import Session
from .workspaces import folders

logger = logging.getLogger(__name__)


class SessionActivity:
    """tenants.activity.SessionActivity, answered from the Session table."""

    def count_active(self, organization_id) -> int:
        return Session.objects.filter(
            organization_id=organization_id, status__in=ACTIVE_STATUSES
        ).count()

    def count_created_since(self, organization_id, since: datetime) -> int:
        return Session.objects.filter(
            organization_id=organization_id, created_at__gte=since
        ).count()

    def count_workspaces_created_since(self, organization_id, since: datetime | None) -> int:
        managed = Session.objects.filter(organization_id=organization_id, mode=SessionMode.MANAGED)
        if since is None:
            return managed.filter(status__in=ACTIVE_STATUSES).count()
        return managed.filter(created_at__gt=since).count()

    def active_sessions(self, organization_id, limit: int) -> list:
        return list(
            Session.objects.filter(organization_id=organization_id, status__in=ACTIVE_STATUSES)
            .select_related("created_by")
            .order_by("-created_at")[:limit]
        )

    def recent_sessions(self, organization_id, limit: int) -> list:
        return list(
            Session.objects.filter(organization_id=organization_id)
            .select_related("created_by")
            .order_by("-created_at")[:limit]
        )


def measure_usage() -> int:
    """Measure every organization's workspaces on disk and store it; how many were measured.

    It sees this machine's disk only: with workspaces on several worker machines it stores
    one machine's share (see the README's Quotas section)."""
    measured = 0
    with platform_bypass("measure every organization's workspaces for quotas"):
        for organization_id in Organization.objects.values_list("pk", flat=True):
            _measure(organization_id)
            measured += 1
    logger.info("usage measured for %d organizations", measured)
    return measured


def _measure(organization_id) -> None:
    # Stamped before the walk: a session created during it counts as not yet seen.
    measured_at = timezone.now()
    workspaces, storage_bytes = folders.organization_usage(organization_id)
    tenant_services.record_usage(
        organization_id=organization_id,
        workspaces=workspaces,
        storage_bytes=storage_bytes,
        measured_at=measured_at,
    )
