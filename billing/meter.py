"""Costs and budgets inside the ingestion transaction (a `sessions.ingest.extensions` meter).

One meter per batch (one organization, one transaction, its sessions locked):

- a PreToolUse the policies allowed is checked against every budget that covers it (the
  session's, its creator's month, the organization's month) with the call's known cost (the
  tool's per-execution rate), and that cost is charged at once. The organization's and user's
  Budget rows are read `FOR UPDATE` (once per batch), so concurrent batches of one
  organization, in any process, check and charge one after the other: two calls that only
  one fits never both pass. The session's own budget is compared on its locked row.
- a tool call that ran is priced in full (per execution + per KB of output) on its
  CommandLog; the per-KB part is charged then (the per-execution part was charged when the
  call was allowed).
- a model response (assistant message) is priced once per message id when it arrives, so a
  session's cost moves during a turn. Token cost can only be known after the response: it
  is how far a budget can be overshot (at most one model response).
- at the end of the batch: the month's Spend rows (one upsert), the TokenCharges (one
  insert), budget threshold crossings (80 %, 100 %: `budget_threshold_reached` after commit;
  at 100 % of the session's budget the session goes to `budget_exceeded`), and one live
  `cost` event per session whose cost moved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from sessions import policies, signals
from sessions.choices import SessionStatus
from sessions.ingest.events import SessionWrite
from sessions.ingest.statements import insert_rows
from sessions.models import CommandLog, session_budget

from . import pricing
from .choices import THRESHOLDS, BudgetScope
from .models import Budget, Spend, TokenCharge

ZERO = Decimal(0)
MICRO = Decimal("0.000001")
ORGANIZATION = ""  # the Spend/Budget subject of the organization as a whole

# Statuses a session pauses from when its budget runs out (others: it is over, or paused).
PAUSABLE = (
    SessionStatus.PENDING,
    SessionStatus.RUNNING,
    SessionStatus.IDLE,
    SessionStatus.COMPLETED,
)


def month_of(moment: datetime) -> date:
    return timezone.localdate(moment).replace(day=1)


def subjects_of(session) -> list[str]:
    """Whose month a session's spending counts in: the organization's, and its creator's."""
    user = session.created_by_id
    return [ORGANIZATION, str(user)] if user is not None else [ORGANIZATION]


@dataclass
class Pending:
    tool: Decimal = ZERO
    token: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.tool + self.token


@dataclass(frozen=True)
class Limit:
    limit: Decimal
    spent: Decimal  # committed before this batch


class BillingMeter:
    def __init__(self, organization_id: uuid.UUID, now: datetime) -> None:
        self.organization_id = organization_id
        self.now = now
        self.period = month_of(now)
        self.pending: dict[str, Pending] = {}
        # subject -> its budget (None: it has none), read and locked once per batch.
        self.limits: dict[str, Limit | None] = {}
        self.cost_before: dict[uuid.UUID, Decimal] = {}
        self.charges: list[TokenCharge] = []

    # --- the extension point ------------------------------------------------------------

    def admit(self, write: SessionWrite, payload: dict, *, fresh: bool):
        tool = str(payload.get("tool_name") or "unknown")[:200]
        cost = pricing.tool_rate(self.organization_id, tool, write.now).per_execution
        denial = self._denial(write, tool, cost)
        if denial is not None:
            if fresh:
                self._pause(write, denial.reason)
            return denial
        if fresh and cost:
            self._charge(write, cost, token=False)
        return None

    def tool_logged(self, write: SessionWrite, log: CommandLog) -> None:
        rate = pricing.tool_rate(self.organization_id, log.tool, write.now)
        log.cost_usd = rate.cost(log.result_bytes)
        # The per-execution part was charged when the call was allowed.
        extra = log.cost_usd - rate.per_execution
        if extra > 0:
            self._charge(write, extra, token=False)

    def assistant_usage(self, write: SessionWrite, payload: dict) -> None:
        session = write.session
        message_id = str(payload.get("message_id") or "")[:200]
        if not message_id or message_id == session.last_priced_message_id:
            return  # one response's blocks repeat its usage: priced once
        session.last_priced_message_id = message_id
        write.fields.add("last_priced_message_id")
        model, usage = str(payload.get("model") or "")[:200], payload["usage"]
        price = pricing.model_price(model, write.now)
        cost = price.cost(usage) if price is not None else ZERO
        tokens = pricing.usage_tokens(usage)
        self.charges.append(
            TokenCharge(
                session_id=session.pk,
                organization_id=session.organization_id,
                message_id=message_id,
                model=model,
                input_tokens=tokens["input"],
                output_tokens=tokens["output"],
                cache_write_tokens=tokens["cache_write"],
                cache_read_tokens=tokens["cache_read"],
                priced=price is not None,
                cost_usd=cost,
                created_at=write.now,
            )
        )
        if cost:
            self._charge(write, cost, token=True)

    def finish(self, writes: list[SessionWrite]) -> None:
        if not self.pending and not self.charges:
            return
        self._load_limits(list(self.pending))
        self._save_spend()
        self._save_charges()
        for subject, pending in self.pending.items():
            self._crossed_organization_budget(subject, pending)
        for write in writes:
            if write.session.pk in self.cost_before:
                self._crossed_session_budget(write)
                write.live.append(cost_event(write.session))

    # --- budgets ------------------------------------------------------------------------

    def _denial(self, write: SessionWrite, tool: str, cost: Decimal):
        session = write.session
        if session.status == SessionStatus.BUDGET_EXCEEDED:
            return _deny(
                f"The session is paused: its budget is spent ({session.status_reason}) "
                "Raise the budget and send a follow-up to go on."
            )
        limit = session_budget(session)
        if limit is not None and session.cost_usd + cost > limit:
            return _deny(
                f"The session budget of ${usd(limit)} would be exceeded: "
                f"${usd(session.cost_usd)} spent, this {tool} call costs ${usd(cost)}."
            )
        subjects = subjects_of(session)
        self._load_limits(subjects)
        for subject in subjects:
            budget = self.limits[subject]
            if budget is None:
                continue
            spent = budget.spent + self.pending.get(subject, Pending()).total
            if spent + cost > budget.limit:
                return _deny(
                    f"The {_name(subject)} monthly budget of ${usd(budget.limit)} would be "
                    f"exceeded: ${usd(spent)} spent this month, this {tool} call costs "
                    f"${usd(cost)}."
                )
        return None

    def _load_limits(self, subjects: list[str]) -> None:
        """The budgets of `subjects` and what they spent before this batch; their Budget
        rows stay locked until the batch commits (one indexed read per batch)."""
        missing = [s for s in subjects if s not in self.limits]
        if not missing:
            return
        # The lock first, then the spending, in a statement of its own: under READ COMMITTED
        # a statement that waited for the lock would still read the spending of its own
        # snapshot (from before the other batch committed); the next statement sees it.
        limits = dict(
            Budget.objects.select_for_update()
            .filter(organization_id=self.organization_id, subject__in=missing)
            .order_by("subject")
            .values_list("subject", "monthly_limit_usd")
        )
        spent = (
            dict(
                Spend.objects.filter(
                    organization_id=self.organization_id,
                    period=self.period,
                    subject__in=list(limits),
                ).values_list("subject", "cost_usd")
            )
            if limits
            else {}
        )
        found = {s: Limit(limit, spent.get(s, ZERO)) for s, limit in limits.items()}
        for subject in missing:
            self.limits[subject] = found.get(subject)

    def _pause(self, write: SessionWrite, reason: str) -> None:
        """Out of budget: the session pauses in `budget_exceeded` (its runner interrupts the
        turn); raising the budget and a follow-up resume it."""
        session = write.session
        if session.status not in PAUSABLE:
            return
        write.move_to(SessionStatus.BUDGET_EXCEEDED, f"Budget exceeded: {reason}"[:5000])
        session.budget_exceeded_at = write.now
        write.fields.add("budget_exceeded_at")

    def _crossed_session_budget(self, write: SessionWrite) -> None:
        session = write.session
        limit = session_budget(session)
        if limit is None:
            return
        before, after = self.cost_before[session.pk], session.cost_usd
        for percent in crossed(before, after, limit):
            _send_threshold(
                session, BudgetScope.SESSION, percent, after, limit, self.organization_id
            )
            if percent == 100:
                self._pause(write, f"${usd(after)} spent of the session budget of ${usd(limit)}.")

    def _crossed_organization_budget(self, subject: str, pending: Pending) -> None:
        budget = self.limits.get(subject)
        if budget is None:
            return
        after = budget.spent + pending.total
        scope = BudgetScope.ORGANIZATION if subject == ORGANIZATION else BudgetScope.USER
        for percent in crossed(budget.spent, after, budget.limit):
            _send_threshold(None, scope, percent, after, budget.limit, self.organization_id)

    # --- spending -----------------------------------------------------------------------

    def _charge(self, write: SessionWrite, amount: Decimal, *, token: bool) -> None:
        session = write.session
        self.cost_before.setdefault(session.pk, session.cost_usd)
        session.cost_usd += amount
        write.fields.add("cost_usd")
        for subject in subjects_of(session):
            pending = self.pending.setdefault(subject, Pending())
            if token:
                pending.token += amount
            else:
                pending.tool += amount

    def _save_spend(self) -> None:
        """Add the batch's spending to the month's rows: one upsert for all subjects."""
        if not self.pending:
            return
        fields = [
            Spend._meta.get_field(name)
            for name in (
                "organization_id",
                "subject",
                "period",
                "cost_usd",
                "tool_cost_usd",
                "token_cost_usd",
                "updated_at",
            )
        ]
        rows = [
            (self.organization_id, subject, self.period, p.total, p.tool, p.token, self.now)
            for subject, p in sorted(self.pending.items())
        ]
        params = [
            field.get_db_prep_save(value, connection)
            for row in rows
            for field, value in zip(fields, row, strict=True)
        ]
        table = Spend._meta.db_table
        marks = ", ".join("(" + ", ".join(["%s"] * len(fields)) + ")" for _ in rows)
        added = ", ".join(
            f"{column} = {table}.{column} + excluded.{column}"
            for column in ("cost_usd", "tool_cost_usd", "token_cost_usd")
        )
        columns = ", ".join(field.column for field in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {marks} "
                f"ON CONFLICT (organization_id, subject, period) DO UPDATE SET {added}, "
                "updated_at = excluded.updated_at",
                params,
            )

    def _save_charges(self) -> None:
        columns = (
            "session_id",
            "organization_id",
            "message_id",
            "model",
            "input_tokens",
            "output_tokens",
            "cache_write_tokens",
            "cache_read_tokens",
            "priced",
            "cost_usd",
            "created_at",
        )
        rows = [tuple(getattr(c, column) for column in columns) for c in self.charges]
        insert_rows(TokenCharge, columns, rows, conflict=("session_id", "message_id"))


def usd(amount: Decimal) -> str:
    """An amount as people read it: 3.5, not 3.500000 (to the micro-dollar)."""
    text = format(amount.quantize(MICRO).normalize(), "f")
    return text


def crossed(before: Decimal, after: Decimal, limit: Decimal) -> list[int]:
    """The thresholds (percent of `limit`) that spending crossed going from before to after."""
    return [p for p in THRESHOLDS if before < limit * p / 100 <= after]


def cost_event(session) -> dict:
    """The live cost meter's event: the session's cost against its budget, as it moves."""
    limit = session_budget(session)
    used = (
        None if limit is None else (100.0 if limit == 0 else float(session.cost_usd / limit * 100))
    )
    return {
        "kind": "cost",
        "cost_usd": str(session.cost_usd),
        "budget_limit": None if limit is None else str(limit),
        "budget_used_pct": None if used is None else round(used, 2),
    }


def _deny(reason: str) -> policies.Decision:
    return policies.Decision(allow=False, reason=reason, policy="budget")


def _name(subject: str) -> str:
    return "organization's" if subject == ORGANIZATION else "user's"


def _send_threshold(session, scope, percent, spent, limit, organization_id) -> None:
    signals.send_on_commit(
        signals.budget_threshold_reached,
        session=session,
        organization_id=organization_id,
        scope=str(scope),
        threshold_percent=percent,
        spent=spent,
        limit=limit,
    )
