"""The built-in kinds of rule: each a small class whose `evaluate()` answers the subjects for
which its condition holds now; a registry maps a kind's name to its class.

An organization's rule looks at its organization; a platform rule at every organization
(subjects then name the organization). Kinds with an event (a session failing, a budget
crossing) are also fed by the engine's receivers, so they alert within seconds; `evaluate()`
is what the periodic job checks, and what makes their alerts resolve.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q

from sessions.choices import ACTIVE_STATUSES, SessionMode, SessionStatus
from sessions.hooks import stats as hook_stats
from sessions.models import Session
from tenants import quotas
from tenants.json_rules import HostileValue, check
from tenants.models import Organization

from .choices import AlertStatus

GB = 1024**3


@dataclass(frozen=True)
class Finding:
    """One subject for which a rule's condition holds."""

    subject: str
    summary: str
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """A whole-number parameter of a kind, with its default and bounds."""

    default: int
    low: int
    high: int
    help: str


class Condition:
    name = ""
    label = ""
    params: dict[str, Param] = {}
    # Only operators may have it (it watches the machine, not a tenant).
    platform_only = False

    def evaluate(self, rule, now: datetime) -> list[Finding]:
        raise NotImplementedError

    def param(self, rule, name: str) -> int:
        return int(rule.params.get(name, self.params[name].default))


def organizations_of(rule) -> list[Organization]:
    """What a rule looks at: its organization, or every one for a platform rule."""
    if rule.organization_id is not None:
        return [rule.organization]
    return list(Organization.objects.all())


def _sessions_of(rule):
    sessions = Session.objects.all()
    if rule.organization_id is not None:
        sessions = sessions.filter(organization_id=rule.organization_id)
    return sessions.select_related("organization")


def session_finding(session: Session, what: str) -> Finding:
    return Finding(
        subject=f"session:{session.pk}",
        summary=f"Session “{session.name[:80]}” of {session.organization.name} {what}",
        details={
            "session": str(session.pk),
            "organization": session.organization.slug,
            "status": session.status,
            "reason": session.status_reason[:500],
        },
    )


class SessionFailed(Condition):
    name, label = "session_failed", "Sessions that failed"
    params = {"minutes": Param(60, 1, 7 * 24 * 60, "How long a failure keeps its alert firing.")}

    def evaluate(self, rule, now):
        since = now - timedelta(minutes=self.param(rule, "minutes"))
        failed = _sessions_of(rule).filter(status=SessionStatus.ERROR, ended_at__gte=since)
        return [self.finding(session) for session in failed]

    def finding(self, session: Session) -> Finding:
        return session_finding(session, f"failed: {session.status_reason[:200]}")


class StuckSession(Condition):
    name, label = "stuck_session", "Running sessions with a silent heartbeat"
    params = {"minutes": Param(5, 1, 24 * 60, "Heartbeat silence that makes a session stuck.")}

    def evaluate(self, rule, now):
        cut = now - timedelta(minutes=self.param(rule, "minutes"))
        silent = Q(heartbeat_at__lt=cut) | Q(heartbeat_at__isnull=True, updated_at__lt=cut)
        stuck = _sessions_of(rule).filter(
            silent,
            mode=SessionMode.MANAGED,  # an attached session's Claude Code runs elsewhere
            status__in=(SessionStatus.RUNNING, SessionStatus.PREPARING),
        )
        return [session_finding(s, "has had no heartbeat") for s in stuck]


class HighSessionCount(Condition):
    name, label = "high_session_count", "Too many active sessions"
    params = {"max_active": Param(50, 0, 1_000_000, "Active sessions above this fire.")}

    def evaluate(self, rule, now):
        limit = self.param(rule, "max_active")
        count = _sessions_of(rule).filter(status__in=ACTIVE_STATUSES).count()
        if count <= limit:
            return []
        where = rule.organization.name if rule.organization_id else "the platform"
        return [
            Finding(
                subject="active-sessions",
                summary=f"{count} active sessions in {where} (more than {limit})",
                details={"active": count, "limit": limit},
            )
        ]


class QuotaNear(Condition):
    name, label = "quota_near", "Quotas nearly used up"
    params = {"percent": Param(80, 1, 100, "Usage at or above this share of a limit fires.")}

    def evaluate(self, rule, now):
        percent = self.param(rule, "percent")
        findings = []
        for organization in organizations_of(rule):
            usage = quotas.usage_of(organization)
            for line in quotas.lines_of(quotas.limits_of(organization), usage):
                if not line.limit or 100 * line.used < percent * line.limit:
                    continue
                findings.append(
                    Finding(
                        subject=f"quota:{organization.slug}:{line.kind}",
                        summary=f"{organization.name}: {line.label} at {line.used}"
                        f"{line.unit} of {line.limit}{line.unit}",
                        details={"quota": line.kind, "used": line.used, "limit": line.limit},
                    )
                )
        return findings


class HookDeliveryFailing(Condition):
    name, label = "hook_delivery_failing", "Hook posts refused, failed or replayed"
    params = {
        "percent": Param(20, 1, 100, "Share of bad posts (refused, failed, replayed) to fire."),
        "minutes": Param(10, 1, hook_stats.KEEP_MINUTES, "The window looked at."),
        "min_posts": Param(10, 1, 1_000_000, "Fewer posts in the window: no judgement."),
    }

    def evaluate(self, rule, now):
        percent, minutes = self.param(rule, "percent"), self.param(rule, "minutes")
        findings = []
        for organization in organizations_of(rule):
            counts = hook_stats.outcomes(organization.pk, minutes)
            total = sum(counts.values())
            bad = total - counts[hook_stats.ACCEPTED]
            if total < self.param(rule, "min_posts") or 100 * bad <= percent * total:
                continue
            findings.append(
                Finding(
                    subject=f"hooks:{organization.slug}",
                    summary=f"{organization.name}: {bad} of {total} hook posts in {minutes} min "
                    f"were refused, failed or replayed",
                    details=counts,
                )
            )
        return findings


class DiskSpaceLow(Condition):
    name, label = "disk_space_low", "Little free space where workspaces live"
    params = {"min_free_gb": Param(10, 0, 1_000_000, "Free space under this many GB fires.")}
    platform_only = True

    def evaluate(self, rule, now):
        folder = _existing(Path(settings.WORKSPACES_DIR))
        free = shutil.disk_usage(folder).free
        minimum = self.param(rule, "min_free_gb")
        if free >= minimum * GB:
            return []
        return [
            Finding(
                subject="disk:workspaces",
                summary=f"{free / GB:.1f} GB free under {folder} (less than {minimum} GB)",
                details={"free_bytes": free, "folder": str(folder)},
            )
        ]


def _existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


class BudgetThreshold(Condition):
    """Billing announces budget crossings (sessions.signals.budget_threshold_reached); each
    crossing fires and stays firing for `hold_minutes` unless billing announces it again."""

    name, label = "budget_threshold", "Budget thresholds reached"
    params = {
        "min_percent": Param(80, 1, 1000, "Crossings below this share are not alerted."),
        "hold_minutes": Param(24 * 60, 1, 31 * 24 * 60, "How long a crossing stays firing."),
    }

    def evaluate(self, rule, now):
        # Held from the crossing billing announced, not from the last evaluation (which
        # finds it again every minute).
        since = (now - timedelta(minutes=self.param(rule, "hold_minutes"))).isoformat()
        held = rule.alerts.filter(status=AlertStatus.FIRING)
        return [
            Finding(a.subject, a.summary, a.details)
            for a in held
            if str(a.details.get("announced_at", "")) >= since
        ]

    def finding(
        self, rule, *, now, organization_name, session, scope, threshold_percent, spent, limit
    ):
        if threshold_percent < self.param(rule, "min_percent"):
            return None
        whose = f"session {session.pk}" if session is not None else "the organization"
        return Finding(
            subject=f"budget:{scope}:{session.pk if session is not None else 'organization'}"
            f":{threshold_percent}",
            summary=f"{organization_name}: {threshold_percent} % of the {scope} budget of "
            f"{whose} spent ({spent} of {limit} USD)",
            details={
                "scope": str(scope)[:50],
                "session": str(session.pk) if session is not None else None,
                "threshold_percent": threshold_percent,
                "spent": str(spent),
                "limit": str(limit),
                "announced_at": now.isoformat(),
            },
        )


KINDS: dict[str, Condition] = {
    kind.name: kind()
    for kind in (
        SessionFailed,
        DiskSpaceLow,
        HookDeliveryFailing,
        HighSessionCount,
        BudgetThreshold,
        StuckSession,
        QuotaNear,
    )
}
KIND_CHOICES = [(name, kind.label) for name, kind in KINDS.items()]


def validate_params(kind: str, params: object, *, platform: bool) -> dict:
    """The parameters of a rule of `kind`, with defaults filled in; a ValidationError naming
    the field (`kind`, `params.<name>`) otherwise."""
    condition = KINDS.get(kind)
    if condition is None:
        raise ValidationError({"kind": f"Unknown kind; one of: {', '.join(KINDS)}."})
    if condition.platform_only and not platform:
        raise ValidationError({"kind": f"{kind} watches the platform: operators' rules only."})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationError({"params": "params is a JSON object."})
    try:
        check(params, "params")
    except HostileValue as exc:
        raise ValidationError({"params": str(exc)}) from None
    unknown = sorted(set(params) - set(condition.params))
    if unknown:
        raise ValidationError(
            {
                "params": f"Unknown parameter {unknown[0]!r} for {kind}; it takes: "
                f"{', '.join(condition.params) or 'nothing'}."
            }
        )
    cleaned = {}
    for name, spec in condition.params.items():
        value = params.get(name, spec.default)
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or not spec.low <= value <= spec.high:
            raise ValidationError(
                {"params": f"params.{name}: a whole number from {spec.low} to {spec.high}."}
            )
        cleaned[name] = value
    return cleaned
