"""What tenants needs to know about an organization's sessions, without importing them.

`tenants` sits below `sessions` and never imports it; `sessions` registers the answers here
in its AppConfig.ready(). Quotas count with them; the organization dashboard lists with them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class SessionActivity(Protocol):
    def count_active(self, organization_id) -> int:
        """Sessions not yet ended (an indexed count)."""

    def count_created_since(self, organization_id, since: datetime) -> int:
        """Sessions created at or after `since` (an indexed count)."""

    def count_workspaces_created_since(self, organization_id, since: datetime | None) -> int:
        """Sessions with a workspace created after `since`: the ones the last measurement
        of the disk cannot have seen (`None`: never measured, the active ones)."""

    def active_sessions(self, organization_id, limit: int) -> list:
        """The newest active sessions, for display."""

    def recent_sessions(self, organization_id, limit: int) -> list:
        """The newest sessions, any status, for display."""


_provider: SessionActivity | None = None


def register(provider: SessionActivity) -> None:
    global _provider
    _provider = provider


def sessions() -> SessionActivity:
    if _provider is None:
        raise ImproperlyConfigured("No session activity registered (sessions is not installed).")
    return _provider
