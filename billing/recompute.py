"""The periodic recompute (Celery beat, every 5 minutes, editable in the admin): for each
session active since the watermark, its cost recomputed from the rates and prices in force
when each event happened, compared with what ingestion recorded; a difference is recorded as
drift (CostDrift), never written over the recorded cost (past costs are not silently
rewritten)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from sessions.models import CommandLog, Session

from . import pricing
from .models import CostDrift, RecomputeWatermark, TokenCharge

# Each batch rounds what it saves to the micro-dollar: differences below this are rounding.
TOLERANCE = Decimal("0.0001")


def recompute(now: datetime | None = None) -> int:
    """Check the sessions active since the watermark; the number of drifts recorded. Call
    it under the platform bypass (it crosses organizations)."""
    now = now or timezone.now()
    with transaction.atomic():
        mark = RecomputeWatermark.objects.select_for_update().first()
        since = mark.recomputed_until if mark else None
        sessions = Session.objects.filter(last_activity_at__lte=now)
        if since is not None:
            sessions = sessions.filter(last_activity_at__gt=since)
        drifts = [d for d in (_drift(s, now) for s in sessions.iterator()) if d is not None]
        CostDrift.objects.bulk_create(drifts)
        if mark is None:
            RecomputeWatermark.objects.create(recomputed_until=now)
        else:
            mark.recomputed_until = now
            mark.save(update_fields=["recomputed_until"])
    return len(drifts)


def session_cost(session: Session) -> Decimal:
    """What the session's events cost at the rates and prices of their own time."""
    total = Decimal(0)
    logs = CommandLog.objects.filter(session=session, cost_usd__isnull=False)
    for tool, size, at in logs.values_list("tool", "result_bytes", "created_at"):
        total += pricing.tool_rate(session.organization_id, tool, at).cost(size)
    charges = TokenCharge.objects.filter(session=session).values_list(
        "model",
        "input_tokens",
        "output_tokens",
        "cache_write_tokens",
        "cache_read_tokens",
        "created_at",
    )
    for model, inp, out, write, read, at in charges:
        price = pricing.model_price(model, at)
        if price is not None:
            usage = {
                "input_tokens": inp,
                "output_tokens": out,
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
            }
            total += price.cost(usage)
    return total


def _drift(session: Session, now: datetime) -> CostDrift | None:
    recomputed = session_cost(session)
    if abs(recomputed - session.cost_usd) <= TOLERANCE:
        return None
    return CostDrift(
        session=session,
        organization_id=session.organization_id,
        recorded_usd=session.cost_usd,
        recomputed_usd=recomputed,
        claude_usd=session.total_cost_usd,
        found_at=now,
    )
