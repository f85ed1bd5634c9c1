"""Billing's writes: rates, prices and budgets. Each is one function, in one transaction,
with its audit event. Spending itself is written by the ingestion meter (billing.meter)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from tenants.models import Organization, User
from tenants.services import record_audit

from . import pricing
from .choices import BillingAuditAction
from .models import Budget, ModelPrice, ToolRate

# How far in the past a new rate may say it applies from: the clock of the caller and ours
# may differ a little; anything older would re-price what was already charged.
BACKDATE_TOLERANCE = timedelta(minutes=1)
MAX_MONEY = Decimal(1_000_000)


def may_manage_budgets(user: User, organization_id) -> bool:
    """Organization admins manage their organization's budgets and tool-rate overrides;
    superusers (operators) every organization's and the platform's rates and prices."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (
        organization_id is not None
        and user.is_org_admin
        and str(user.organization_id) == str(organization_id)
    )


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise PermissionDenied(what)


def effective_time(effective_from: datetime | None) -> datetime:
    """When a change applies: now by default, or later; never before now (past costs are
    never silently rewritten)."""
    now = timezone.now()
    if effective_from is None:
        return now
    if timezone.is_naive(effective_from):
        raise ValidationError({"effective_from": "Give a time zone (e.g. 2026-01-01T00:00Z)."})
    if effective_from < now - BACKDATE_TOLERANCE:
        raise ValidationError(
            {"effective_from": "A rate or price applies from now or later, never from the past."}
        )
    return effective_from


def _money(field: str, value: Decimal | int) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= MAX_MONEY:
        raise ValidationError({field: f"An amount in USD from 0 to {MAX_MONEY}."})
    return value


def _forget_on_commit() -> None:
    # Now, for this thread's next read, and again once committed, for a read that raced it.
    pricing.forget()
    transaction.on_commit(pricing.forget)


@transaction.atomic
def add_tool_rate(
    *,
    actor: User,
    organization: Organization | None,
    tool: str,
    per_execution_usd: Decimal,
    per_kb_output_usd: Decimal = Decimal(0),
    effective_from: datetime | None = None,
) -> ToolRate:
    """A new rate for `tool` (the platform's, or an organization's override), in force from
    `effective_from`; earlier calls keep the rate they were charged."""
    _require(
        actor.is_superuser if organization is None else may_manage_budgets(actor, organization.pk),
        "Only operators set platform rates; organization admins their organization's.",
    )
    tool = (tool or "").strip()
    if not tool or len(tool) > 200:
        raise ValidationError({"tool": "A tool name of 1 to 200 characters (or * for others)."})
    rate = ToolRate.objects.create(
        organization=organization,
        tool=tool,
        per_execution_usd=_money("per_execution_usd", per_execution_usd),
        per_kb_output_usd=_money("per_kb_output_usd", per_kb_output_usd),
        effective_from=effective_time(effective_from),
        created_by=actor,
    )
    record_audit(
        action=BillingAuditAction.TOOL_RATE_SET,
        actor=actor,
        organization=organization,
        target=rate,
        details={
            "tool": tool,
            "per_execution_usd": str(rate.per_execution_usd),
            "per_kb_output_usd": str(rate.per_kb_output_usd),
            "effective_from": rate.effective_from.isoformat(),
        },
    )
    _forget_on_commit()
    return rate


PRICE_FIELDS = ("input_per_mtok", "output_per_mtok", "cache_write_per_mtok", "cache_read_per_mtok")


@transaction.atomic
def add_model_price(
    *,
    actor: User,
    model: str,
    aliases: list[str] | None = None,
    effective_from: datetime | None = None,
    **prices: Decimal,
) -> ModelPrice:
    """A new price for `model` (and its aliases), in force from `effective_from`."""
    _require(actor.is_superuser, "Only operators set model prices.")
    model = (model or "").strip()
    if not model or len(model) > 200:
        raise ValidationError({"model": "A model id of 1 to 200 characters."})
    aliases = aliases or []
    if len(aliases) > 20 or not all(isinstance(a, str) and 0 < len(a) <= 200 for a in aliases):
        raise ValidationError({"aliases": "Up to 20 names of 1 to 200 characters."})
    missing = [name for name in PRICE_FIELDS if name not in prices]
    if missing or set(prices) - set(PRICE_FIELDS):
        raise ValidationError({(missing or ["prices"])[0]: f"Give exactly {PRICE_FIELDS}."})
    price = ModelPrice.objects.create(
        model=model,
        aliases=aliases,
        effective_from=effective_time(effective_from),
        created_by=actor,
        **{name: _money(name, prices[name]) for name in PRICE_FIELDS},
    )
    record_audit(
        action=BillingAuditAction.MODEL_PRICE_SET,
        actor=actor,
        organization=None,
        target=price,
        details={"model": model, **{name: str(prices[name]) for name in PRICE_FIELDS}},
    )
    _forget_on_commit()
    return price


@transaction.atomic
def set_budget(
    *,
    actor: User,
    organization: Organization,
    user: User | None = None,
    monthly_limit_usd: Decimal | None,
) -> Budget | None:
    """The organization's monthly budget (no user) or one member's; None removes it. It
    applies from the next tool call on (ingestion reads it under a lock)."""
    _require(
        may_manage_budgets(actor, organization.pk),
        "Only this organization's admins set its budgets.",
    )
    if user is not None and user.organization_id != organization.pk:
        raise ValidationError({"user": "Not a member of this organization."})
    subject = "" if user is None else str(user.pk)
    budget = (
        Budget.objects.select_for_update()
        .filter(organization=organization, subject=subject)
        .first()
    )
    old = None if budget is None else str(budget.monthly_limit_usd)
    if monthly_limit_usd is None:
        if budget is not None:
            budget.delete()
        budget = None
    else:
        limit = _money("monthly_limit_usd", monthly_limit_usd)
        budget = budget or Budget(organization=organization, user=user, subject=subject)
        budget.monthly_limit_usd, budget.updated_by = limit, actor
        budget.save()
    record_audit(
        action=BillingAuditAction.BUDGET_SET,
        actor=actor,
        organization=organization,
        target=budget or organization,
        details={
            "user": user.get_username() if user else None,
            "old": old,
            "new": None if monthly_limit_usd is None else str(monthly_limit_usd),
        },
    )
    return budget
