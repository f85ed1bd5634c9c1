"""Quotas: an organization's limits, its usage against them, and the check a new session
must pass. Writes (set_quotas, record_usage) live in tenants.services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.formats import number_format

from . import activity
from .choices import QuotaKind
from .models import Organization, OrganizationQuota, OrganizationUsage

GB = 1024**3
QUOTA_FIELDS = tuple(QuotaKind.values)


class QuotaExceeded(Exception):
    """A new session would go over one of the organization's limits (answered as 429)."""

    def __init__(
        self, *, quota: str, limit: int, usage: int | float, detail: str, retry_after=None
    ):
        super().__init__(detail)
        self.quota = quota
        self.limit = limit
        self.usage = usage
        self.detail = detail
        self.retry_after = retry_after

    def as_dict(self) -> dict:
        return {
            "detail": self.detail,
            "quota": self.quota,
            "limit": self.limit,
            "usage": self.usage,
        }


@dataclass(frozen=True)
class Usage:
    active_sessions: int
    sessions_today: int
    workspaces: int
    storage_bytes: int
    measured_at: datetime | None

    @property
    def storage_gb(self) -> float:
        return round(self.storage_bytes / GB, 3)

    def of(self, kind: str) -> int | float:
        """The usage a limit is compared with (storage unrounded: 0.9999 GB is not 1)."""
        return {
            QuotaKind.ACTIVE_SESSIONS: self.active_sessions,
            QuotaKind.WORKSPACES: self.workspaces,
            QuotaKind.STORAGE_GB: self.storage_bytes / GB,
            QuotaKind.SESSIONS_PER_DAY: self.sessions_today,
        }[kind]


@dataclass(frozen=True)
class QuotaLine:
    """One limit next to its usage, for the API and the dashboard."""

    kind: str
    label: str
    limit: int | None
    used: int | float

    @property
    def unit(self) -> str:
        return "GB" if self.kind == QuotaKind.STORAGE_GB else ""

    @property
    def percent(self) -> int:
        """0-100, for a bar; an unlimited quota has no bar."""
        if self.limit is None:
            return 0
        if self.limit == 0:
            return 100
        return min(100, round(100 * self.used / self.limit))

    @property
    def level(self) -> str:
        if self.limit is None or self.percent < 80:
            return "ok"
        return "full" if self.used >= self.limit else "near"


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight of today in TIME_ZONE: sessions per day count from here."""
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def limits_of(organization: Organization) -> dict[str, int | None]:
    row = OrganizationQuota.objects.filter(organization_id=organization.pk).first()
    return {name: getattr(row, name, None) for name in QUOTA_FIELDS}


def usage_of(organization: Organization) -> Usage:
    """Live counts of sessions (indexed) and the last measurement of the disk, plus the
    workspaces made since it (so a burst of creates cannot outrun the periodic job)."""
    measured = OrganizationUsage.objects.filter(organization_id=organization.pk).first()
    measured_at = measured.measured_at if measured else None
    sessions = activity.sessions()
    return Usage(
        active_sessions=sessions.count_active(organization.pk),
        sessions_today=sessions.count_created_since(organization.pk, start_of_day()),
        workspaces=(measured.workspaces if measured else 0)
        + sessions.count_workspaces_created_since(organization.pk, measured_at),
        storage_bytes=measured.storage_bytes if measured else 0,
        measured_at=measured_at,
    )


def lines_of(limits: dict[str, int | None], usage: Usage) -> list[QuotaLine]:
    return [
        QuotaLine(kind=kind, label=label, limit=limits[kind], used=_shown(usage, kind))
        for kind, label in QuotaKind.choices
    ]


def _shown(usage: Usage, kind: str) -> int | float:
    return usage.storage_gb if kind == QuotaKind.STORAGE_GB else usage.of(kind)


def check_new_session(organization: Organization, *, with_workspace: bool) -> None:
    """Raise QuotaExceeded if one more session would go over a limit. Race-safe only when
    the caller holds the organization's row lock in the transaction that creates it."""
    limits = limits_of(organization)
    if all(limit is None for limit in limits.values()):
        return
    usage = usage_of(organization)
    kinds = list(QUOTA_FIELDS)
    if not with_workspace:
        # An attached session's Claude Code runs elsewhere: no folder, no bytes here.
        kinds = [QuotaKind.ACTIVE_SESSIONS, QuotaKind.SESSIONS_PER_DAY]
    for kind in kinds:
        limit, used = limits[kind], usage.of(kind)
        if limit is not None and used >= limit:
            raise _exceeded(organization, kind, limit, _shown(usage, kind))


def _exceeded(organization: Organization, kind: str, limit: int, used) -> QuotaExceeded:
    ask = "or ask an operator to raise the limit."
    retry_after = None
    if kind == QuotaKind.ACTIVE_SESSIONS:
        said = f"has {used} active sessions; its limit is {limit}"
        todo = f"Stop a session or wait for one to finish, {ask}"
    elif kind == QuotaKind.SESSIONS_PER_DAY:
        said = f"created {used} sessions today; its limit is {limit} a day"
        retry_after = int((start_of_day() + timedelta(days=1) - timezone.now()).total_seconds())
        todo = f"Wait until midnight ({settings.TIME_ZONE}, in {_hours(retry_after)}), {ask}"
    elif kind == QuotaKind.WORKSPACES:
        said = f"has {used} workspaces on disk; its limit is {limit}"
        todo = (
            "Ended sessions' workspaces are removed "
            f"{settings.WORKSPACE_RETENTION_HOURS} hours after they end: wait for that, "
            f"start an attached session (it needs no workspace), {ask}"
        )
    else:
        said = f"uses {number_format(used, 2)} GB of storage; its limit is {limit} GB"
        todo = (
            "Stop sessions that write a lot and wait for ended sessions' workspaces to be "
            f"removed, start an attached session (it needs no workspace), {ask}"
        )
    detail = f"Quota reached: {organization.name} {said}. {todo}"
    return QuotaExceeded(
        quota=kind, limit=limit, usage=used, detail=detail, retry_after=retry_after
    )


def _hours(seconds: int) -> str:
    hours, minutes = divmod(max(seconds, 0) // 60, 60)
    return f"{hours} h {minutes} min"
