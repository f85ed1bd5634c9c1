"""End to end: the real Claude Code CLI on the scripted model against a budget."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import TokenCharge
from sessions.choices import SessionStatus
from sessions.models import CommandLog, Session
from tests.billing.conftest import set_price, set_rate
from tests.sessions.agent.test_runner_e2e import start
from tests.sessions.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def turn_over(session_id, turns: int = 1):
    """The session once its `turns`-th turn result is in (an interrupted turn's too)."""

    def check():
        session = Session.objects.get(pk=session_id)
        done = session.last_result.get("subtype") and session.num_turns >= turns
        return session if done and session.status != SessionStatus.RUNNING else None

    return check


def test_ten_bash_calls_on_a_budget_for_three_then_a_raise_resumes(
    api, member, superuser, git_repo, agent_settings
):
    # Each Bash call costs $1; the model's tokens cost a few cents at Sonnet's price, so a
    # $3.50 budget fits three calls and not a fourth.
    set_rate(superuser, "Bash", "1")
    client = api(member)
    session_id = start(client, git_repo, "[scenario:ten_bash]", budget_limit="3.5")
    session = wait_for(turn_over(session_id), timeout=120)
    assert session.status == SessionStatus.BUDGET_EXCEEDED, session.status_reason
    logs = list(CommandLog.objects.filter(session=session).order_by("seq"))
    ran = [log for log in logs if not log.is_error]
    assert len(ran) == 3 and all(log.cost_usd == Decimal(1) for log in ran)
    fourth = logs[3]
    assert fourth.is_error and "session budget of $3.5" in fourth.result
    assert session.budget_exceeded_at is not None
    assert Decimal(3) <= session.cost_usd <= Decimal("3.5")  # three calls and the tokens

    # A pause, not an end: raise the budget, send a follow-up, and the session goes on.
    raised = client.patch(f"/api/sessions/{session_id}/", {"budget_limit": "20"}, format="json")
    assert raised.status_code == 200
    follow = client.post(
        f"/api/sessions/{session_id}/messages/", {"content": "[scenario:bash_write]"}, format="json"
    )
    assert follow.status_code == 202, follow.content
    session = wait_for(turn_over(session_id, turns=session.num_turns + 1), timeout=120)
    assert session.status == SessionStatus.COMPLETED, session.status_reason
    assert CommandLog.objects.filter(session=session, is_error=False).count() == 5


def test_cost_moves_during_a_turn(api, member, superuser, git_repo, agent_settings):
    """Each model response is priced as it arrives: the cost rises before the turn ends."""
    set_price(superuser, "claude", "3", "15")  # whichever Claude model the CLI asks for
    set_rate(superuser, "Bash", "0.01")
    session_id = start(api(member), git_repo, "[scenario:ten_bash]")
    seen: set[Decimal] = set()

    def costs_while_running():
        session = Session.objects.get(pk=session_id)
        if session.status == SessionStatus.RUNNING:
            seen.add(session.cost_usd)
        return session if session.last_result.get("subtype") else None

    session = wait_for(costs_while_running, timeout=120)
    assert session.status == SessionStatus.COMPLETED, session.status_reason
    assert len({c for c in seen if c > 0}) >= 2  # it moved while the turn ran
    assert session.cost_usd > 0 and session.total_cost_usd > 0  # ours beside Claude Code's
    charges = TokenCharge.objects.filter(session=session)
    # One per model response (ten tool calls and the answer), priced at its final usage.
    assert charges.count() >= 11 and all(c.priced and c.cost_usd > 0 for c in charges)
    assert all(c.output_tokens > 1 for c in charges)  # not message_start's one token
