"""What a tool call and a model response cost, at the rates and prices in force when they
happened.

Rates and prices are small tables read on the ingestion hot path, so each process keeps them
in memory for BILLING_RATE_CACHE_SECONDS (and forgets them at once when this process changes
one). A change made in another process applies here within that time; a new rate may not
apply from before it is made (services), so the cache never prices a past event wrongly,
and the periodic recompute records any difference as drift.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from .choices import DEFAULT_TOOL
from .models import ModelPrice, ToolRate

MILLION = Decimal(1_000_000)
KB = Decimal(1024)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Rate:
    per_execution: Decimal
    per_kb: Decimal
    effective_from: datetime | None = None

    def cost(self, output_bytes: int) -> Decimal:
        return self.per_execution + self.per_kb * Decimal(max(output_bytes, 0)) / KB


@dataclass(frozen=True)
class Price:
    model: str
    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal

    def cost(self, usage: dict) -> Decimal:
        tokens = usage_tokens(usage)
        return (
            tokens["input"] * self.input
            + tokens["output"] * self.output
            + tokens["cache_write"] * self.cache_write
            + tokens["cache_read"] * self.cache_read
        ) / MILLION


FREE = Rate(ZERO, ZERO)

_lock = threading.Lock()
_rates: dict[uuid.UUID, tuple[float, list[ToolRate]]] = {}
_prices: tuple[float, list[ModelPrice]] | None = None


def forget() -> None:
    """Drop the cached rates and prices (after a change, and in tests)."""
    global _prices
    with _lock:
        _rates.clear()
        _prices = None


def _fresh(loaded_at: float) -> bool:
    return time.monotonic() - loaded_at < settings.BILLING_RATE_CACHE_SECONDS


def _rates_of(organization_id: uuid.UUID) -> list[ToolRate]:
    """The organization's and the platform's rates, newest first. Read in the caller's tenant
    context (the platform's rows are shared with every organization)."""
    cached = _rates.get(organization_id)
    if cached and _fresh(cached[0]):
        return cached[1]
    rows = list(
        ToolRate.objects.filter(
            Q(organization_id=organization_id) | Q(organization__isnull=True)
        ).order_by("-effective_from")
    )
    with _lock:
        _rates[organization_id] = (time.monotonic(), rows)
    return rows


def tool_rate(organization_id: uuid.UUID, tool: str, at: datetime) -> Rate:
    """The rate in force at `at`: the organization's own for the tool, else the platform's,
    else the organization's default, else the platform's default, else free."""
    candidates = [row for row in _rates_of(organization_id) if row.effective_from <= at]
    for wanted_tool, wanted_org in (
        (tool, organization_id),
        (tool, None),
        (DEFAULT_TOOL, organization_id),
        (DEFAULT_TOOL, None),
    ):
        for row in candidates:
            if row.tool == wanted_tool and row.organization_id == wanted_org:
                return Rate(row.per_execution_usd, row.per_kb_output_usd, row.effective_from)
    return FREE


def _all_prices() -> list[ModelPrice]:
    global _prices
    cached = _prices
    if cached and _fresh(cached[0]):
        return cached[1]
    rows = list(ModelPrice.objects.order_by("-effective_from"))
    with _lock:
        _prices = (time.monotonic(), rows)
    return rows


def model_price(model: str, at: datetime) -> Price | None:
    """The price in force at `at` for `model`: its own name or an alias, else the longest
    model name it starts with (a dated id takes its family's price); None if none matches."""
    name = (model or "").strip().lower()
    if not name:
        return None
    rows = [row for row in _all_prices() if row.effective_from <= at]
    for row in rows:
        if name == row.model.lower() or name in [str(a).lower() for a in row.aliases or []]:
            return _price(row)
    prefixed = [row for row in rows if name.startswith(row.model.lower())]
    if not prefixed:
        return None
    longest = max(len(row.model) for row in prefixed)
    return _price(next(row for row in prefixed if len(row.model) == longest))


def _price(row: ModelPrice) -> Price:
    return Price(
        row.model,
        row.input_per_mtok,
        row.output_per_mtok,
        row.cache_write_per_mtok,
        row.cache_read_per_mtok,
    )


def usage_tokens(usage: dict) -> dict[str, int]:
    """The Messages API's usage, as token counts (a value that is no count counts 0)."""

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    return {
        "input": count("input_tokens"),
        "output": count("output_tokens"),
        "cache_write": count("cache_creation_input_tokens"),
        "cache_read": count("cache_read_input_tokens"),
    }
