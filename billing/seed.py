"""The starting rates and prices, in force from 2025-01-01 (a change is a new row).

Tool rates: the backlog's (P2-4) per-execution rates mapped to Claude Code's tool names
(bash -> Bash, edit_file -> Edit and Write, read_file -> Read, web_search -> WebSearch,
grep -> Grep), and a default for every other tool; no per-KB charge (the backlog had none).

Model prices: Anthropic's list prices per million tokens (input, output, 5-minute cache write,
cache read) for the Claude models, as the pinned Claude Code CLI's model catalog carries them
(the CLI prices its own `total_cost_usd` with the same table). Installed by the migration
0002; tests install them again where a transactional test flushed them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

SINCE = datetime(2025, 1, 1, tzinfo=UTC)

TOOL_RATES = {
    "Bash": "0.001",
    "Edit": "0.002",
    "Write": "0.002",
    "Read": "0.001",
    "WebSearch": "0.01",
    "Grep": "0.0005",
    "*": "0.001",
}

# Price tiers: input, output, 5-minute cache write, cache read (USD per million tokens).
TIERS = {
    "tier_2_10": ("2", "10", "2.5", "0.2"),
    "tier_2_10_cache_read_0_10": ("2", "10", "2.5", "0.1"),
    "tier_3_15": ("3", "15", "3.75", "0.3"),
    "tier_4_20_cache_read_0_20": ("4", "20", "5", "0.2"),
    "tier_5_25": ("5", "25", "6.25", "0.5"),
    "tier_8_40_cache_read_0_20": ("8", "40", "10", "0.2"),
    "tier_10_50": ("10", "50", "12.5", "1"),
    "tier_10_50_cache_read_0_25": ("10", "50", "12.5", "0.25"),
    "tier_15_75": ("15", "75", "18.75", "1.5"),
    "haiku_35": ("0.8", "4", "1", "0.08"),
    "haiku_45": ("1", "5", "1.25", "0.1"),
    "haiku_55": ("0.1", "0.5", "0.125", "0.01"),
}

# model, aliases (the API's dated id; Claude Code's family aliases on the newest), tier. From
# the model catalog of the pinned Claude Code CLI (2.1.331), which carries Anthropic's list
# prices; long-prompt surcharges (Haiku 5.5 above 100K input tokens) are not modelled.
MODEL_PRICES = [
    ("claude-3-5-haiku", ["claude-3-5-haiku-20241022"], "haiku_35"),
    ("claude-haiku-4-5", ["claude-haiku-4-5-20251001"], "haiku_45"),
    ("claude-haiku-5-5", ["haiku"], "haiku_55"),
    ("claude-3-5-sonnet", ["claude-3-5-sonnet-20241022"], "tier_3_15"),
    ("claude-3-7-sonnet", ["claude-3-7-sonnet-20250219"], "tier_3_15"),
    ("claude-sonnet-4-0", ["claude-sonnet-4-20250514"], "tier_3_15"),
    ("claude-sonnet-4-5", ["claude-sonnet-4-5-20250929"], "tier_3_15"),
    ("claude-sonnet-4-6", [], "tier_3_15"),
    ("claude-sonnet-5", [], "tier_2_10"),
    ("claude-sonnet-5-5", ["sonnet"], "tier_2_10_cache_read_0_10"),
    ("claude-opus-4-0", ["claude-opus-4-20250514"], "tier_15_75"),
    ("claude-opus-4-1", ["claude-opus-4-1-20250805"], "tier_15_75"),
    ("claude-opus-4-5", ["claude-opus-4-5-20251101"], "tier_5_25"),
    ("claude-opus-4-6", [], "tier_5_25"),
    ("claude-opus-4-7", [], "tier_5_25"),
    ("claude-opus-4-8", [], "tier_5_25"),
    ("claude-opus-5", [], "tier_5_25"),
    ("claude-opus-5-5", ["opus"], "tier_4_20_cache_read_0_20"),
    ("claude-fable-5", [], "tier_10_50"),
    ("claude-fable-5-1", [], "tier_10_50_cache_read_0_25"),
    ("claude-fable-5-2", ["fable"], "tier_8_40_cache_read_0_20"),
    ("claude-mythos-5", [], "tier_10_50"),
    ("claude-mythos-5-1", [], "tier_10_50_cache_read_0_25"),
    ("claude-mythos-5-2", ["mythos"], "tier_8_40_cache_read_0_20"),
]


def install(ToolRate, ModelPrice) -> None:  # noqa: N803 (model classes, as a migration has them)
    """Create the seed rows that are missing (the models: a migration's historical ones)."""
    for tool, rate in TOOL_RATES.items():
        ToolRate.objects.get_or_create(
            organization=None,
            tool=tool,
            effective_from=SINCE,
            defaults={"per_execution_usd": Decimal(rate), "per_kb_output_usd": Decimal(0)},
        )
    for model, aliases, tier in MODEL_PRICES:
        inp, out, write, read = TIERS[tier]
        ModelPrice.objects.get_or_create(
            model=model,
            effective_from=SINCE,
            defaults={
                "aliases": aliases,
                "input_per_mtok": Decimal(inp),
                "output_per_mtok": Decimal(out),
                "cache_write_per_mtok": Decimal(write),
                "cache_read_per_mtok": Decimal(read),
            },
        )
