"""Rates and prices: seeded, overridden per organization, applied by effective time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing import pricing, services
from billing.models import ModelPrice, ToolRate
from tests.billing.conftest import set_price, set_rate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded")]


def test_the_seed_maps_the_backlogs_rates_to_claude_codes_tools():
    now = timezone.now()
    rates = {
        tool: pricing.tool_rate(None, tool, now).per_execution
        for tool in ("Bash", "Edit", "Write", "Read", "WebSearch", "Grep", "NotebookEdit")
    }
    assert rates == {
        "Bash": Decimal("0.001"),
        "Edit": Decimal("0.002"),
        "Write": Decimal("0.002"),
        "Read": Decimal("0.001"),
        "WebSearch": Decimal("0.01"),
        "Grep": Decimal("0.0005"),
        "NotebookEdit": Decimal("0.001"),  # the default
    }


def test_the_seed_prices_current_claude_models_by_id_alias_and_dated_id():
    now = timezone.now()
    sonnet = pricing.model_price("claude-sonnet-4-5-20250929", now)
    assert (sonnet.input, sonnet.output) == (Decimal(3), Decimal(15))
    assert pricing.model_price("opus", now).model == "claude-opus-5-5"
    assert pricing.model_price("claude-opus-4-20250514", now).model == "claude-opus-4-0"
    # The longest matching name wins: claude-opus-4-1 is not claude-opus-4.
    assert pricing.model_price("claude-opus-4-1-20250805", now).model == "claude-opus-4-1"
    assert pricing.model_price("scripted-demo-model", now) is None
    usage = {"input_tokens": 1_000_000, "output_tokens": 100_000, "cache_read_input_tokens": 10}
    assert sonnet.cost(usage) == Decimal(3) + Decimal("1.5") + Decimal("0.000003")


def test_our_price_of_a_response_is_claude_codes_own():
    """The pinned CLI's result for one Bash call (tests/fixtures): 200 input and 28 output
    tokens of claude-opus-5-5, which Claude Code priced at $0.00136."""
    price = pricing.model_price("claude-opus-5-5", timezone.now())
    assert price.cost({"input_tokens": 200, "output_tokens": 28}) == Decimal("0.00136")


def test_a_rate_applies_from_its_effective_time_and_earlier_calls_keep_theirs(superuser):
    before = timezone.now()
    later = before + timedelta(hours=1)
    services.add_tool_rate(
        actor=superuser,
        organization=None,
        tool="Bash",
        per_execution_usd=Decimal("0.5"),
        effective_from=later,
    )
    assert pricing.tool_rate(None, "Bash", before).per_execution == Decimal("0.001")
    assert pricing.tool_rate(None, "Bash", later).per_execution == Decimal("0.5")
    assert ToolRate.objects.filter(tool="Bash").count() == 2  # the history


def test_a_rate_cannot_apply_from_the_past(superuser):
    with pytest.raises(ValidationError) as caught:
        services.add_tool_rate(
            actor=superuser,
            organization=None,
            tool="Bash",
            per_execution_usd=Decimal(1),
            effective_from=timezone.now() - timedelta(days=1),
        )
    assert "effective_from" in caught.value.message_dict


def test_an_organizations_override_applies_to_it_alone(owner, outsider):
    set_rate(owner, "Bash", "0.25", organization=owner.organization)
    now = timezone.now()
    assert pricing.tool_rate(owner.organization_id, "Bash", now).per_execution == Decimal("0.25")
    assert pricing.tool_rate(outsider.organization_id, "Bash", now).per_execution == Decimal(
        "0.001"
    )


def test_only_operators_set_platform_rates_and_prices(owner, member):
    with pytest.raises(PermissionDenied):
        set_rate(owner, "Bash", "1")
    with pytest.raises(PermissionDenied):
        set_rate(member, "Bash", "1", organization=member.organization)
    with pytest.raises(PermissionDenied):
        set_price(owner, "claude-x", "1", "1")
    assert not ModelPrice.objects.filter(model="claude-x").exists()
