"""Billing's reads, each scoped to the user or organization it serves."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.apps import apps
from django.db.models import Count, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from sessions.models import CommandLog
from tenants.models import Organization, User

from .choices import ReportGroup
from .meter import ORGANIZATION, month_of
from .models import Budget, ModelPrice, Spend, TokenCharge, ToolRate

ZERO = Decimal(0)


def tool_rates_visible_to(user: User) -> QuerySet[ToolRate]:
    """Superusers see every rate; members their organization's overrides and the platform's."""
    rates = ToolRate.objects.select_related("organization")
    if user.is_superuser:
        return rates
    return rates.filter(organization_id=user.organization_id) | rates.filter(
        organization__isnull=True
    )


def model_prices() -> QuerySet[ModelPrice]:
    return ModelPrice.objects.all()


def budgets_of(organization: Organization) -> dict:
    """The organization's monthly budget and its members', with this month's spending."""
    period = month_of(timezone.now())
    spent = dict(
        Spend.objects.filter(organization=organization, period=period).values_list(
            "subject", "cost_usd"
        )
    )
    rows = Budget.objects.filter(organization=organization).select_related("user")
    own = next((b for b in rows if b.subject == ORGANIZATION), None)
    return {
        "period": period,
        "monthly_limit_usd": None if own is None else own.monthly_limit_usd,
        "spent_usd": spent.get(ORGANIZATION, ZERO),
        "users": [
            {
                "username": b.user.get_username(),
                "monthly_limit_usd": b.monthly_limit_usd,
                "spent_usd": spent.get(b.subject, ZERO),
            }
            for b in rows
            if b.user is not None
        ],
    }


def spend_this_month(organization: Organization) -> Decimal:
    row = Spend.objects.filter(
        organization=organization, subject=ORGANIZATION, period=month_of(timezone.now())
    ).first()
    return row.cost_usd if row else ZERO


# --- reports -------------------------------------------------------------------------------

TOOL_KEYS = {
    ReportGroup.DAY: TruncDate("created_at"),
    ReportGroup.USER: Coalesce(F("session__created_by__username"), Value("")),
    ReportGroup.TOOL: F("tool"),
    ReportGroup.MODEL: Value("(tool calls)"),
}
TOKEN_KEYS = {
    ReportGroup.DAY: TruncDate("created_at"),
    ReportGroup.USER: Coalesce(F("session__created_by__username"), Value("")),
    ReportGroup.TOOL: Value("(model tokens)"),
    ReportGroup.MODEL: F("model"),
}


def _keys(group_by: str) -> tuple:
    if group_by == ReportGroup.TEMPLATE:
        if not apps.is_installed("templates"):
            return Value(""), Value("")
        # Through the relation, not an import: billing does not depend on templates' code.
        name = Coalesce(F("session__template_launch__template__name"), Value(""))
        return name, name
    return TOOL_KEYS[group_by], TOKEN_KEYS[group_by]


def report_range(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """[start, end] as whole days in TIME_ZONE; the current month by default."""
    today = timezone.localdate()
    start = start or today.replace(day=1)
    end = end or today
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def cost_report(
    *, organization: Organization, group_by: str, start: date | None, end: date | None
) -> list[dict]:
    """The organization's costs in the range, grouped: tool calls (their CommandLogs) and
    model responses (TokenCharges), one row per group, the costliest first."""
    since, until = report_range(start, end)
    tool_key, token_key = _keys(group_by)
    rows: dict = defaultdict(
        lambda: {
            "tool_cost_usd": ZERO,
            "token_cost_usd": ZERO,
            "tool_calls": 0,
            "input_tokens": 0,
            "output_tokens": 0,
        }
    )
    tools = (
        CommandLog.objects.filter(
            organization=organization,
            created_at__gte=since,
            created_at__lt=until,
            cost_usd__isnull=False,
        )
        .order_by()  # no model ordering in the GROUP BY
        .annotate(key=tool_key)
        .values("key")
        .annotate(cost=Sum("cost_usd"), calls=Count("id"))
    )
    for row in tools:
        if not row["calls"]:
            continue  # a constant key groups nothing: one empty row comes back
        rows[row["key"]]["tool_cost_usd"] += row["cost"] or ZERO
        rows[row["key"]]["tool_calls"] += row["calls"]
    tokens = (
        TokenCharge.objects.filter(
            organization=organization, created_at__gte=since, created_at__lt=until
        )
        .order_by()
        .annotate(key=token_key)
        .values("key")
        .annotate(
            cost=Sum("cost_usd"), inp=Sum("input_tokens"), out=Sum("output_tokens"), n=Count("id")
        )
    )
    for row in tokens:
        if not row["n"]:
            continue
        rows[row["key"]]["token_cost_usd"] += row["cost"] or ZERO
        rows[row["key"]]["input_tokens"] += row["inp"] or 0
        rows[row["key"]]["output_tokens"] += row["out"] or 0
    result = [
        {"key": _key(key), **v, "cost_usd": v["tool_cost_usd"] + v["token_cost_usd"]}
        for key, v in rows.items()
    ]
    if group_by == ReportGroup.DAY:
        return sorted(result, key=lambda r: r["key"])
    return sorted(result, key=lambda r: (-r["cost_usd"], r["key"]))


def _key(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value or "")


def charged_models(session) -> list[str]:
    """The models the session's token charges name (an attached session's only record of
    them, from its telemetry)."""
    charges = TokenCharge.objects.filter(session=session).exclude(model="")
    return list(charges.order_by().values_list("model", flat=True).distinct())
