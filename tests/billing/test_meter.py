"""Costs at ingestion and budgets enforced before the next tool call, on the locked session."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from claude_agent_sdk import StreamEvent
from django.utils import timezone

from billing import services
from billing.meter import month_of
from billing.models import Spend, TokenCharge
from sessions import services as session_services
from sessions import signals
from sessions.agent.runner import ResponseUsage
from sessions.choices import SessionMode, SessionStatus
from sessions.ingest import ingest
from sessions.models import CommandLog
from tests.billing.conftest import (
    assistant,
    denied,
    pre,
    set_price,
    set_rate,
    tool_call,
)
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(member):
    return new_session(member, name="costly", mode=SessionMode.ATTACHED)


@pytest.fixture
def crossings():
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.budget_threshold_reached.connect(receiver, dispatch_uid="test.crossings")
    yield seen
    signals.budget_threshold_reached.disconnect(dispatch_uid="test.crossings")


def spend(organization, subject: str = "") -> Decimal:
    row = Spend.objects.filter(organization=organization, subject=subject).first()
    return row.cost_usd if row else Decimal(0)


def test_a_tool_call_is_priced_on_its_log_and_in_every_total(session, superuser, member):
    set_rate(superuser, "Bash", "0.01", per_kb="0.5")
    tool_call(session, "t1", output="x" * 2048)
    log = CommandLog.objects.get(session=session)
    assert log.cost_usd == Decimal("0.01") + Decimal(1)  # 2 KB of output at 0.5 a KB
    session.refresh_from_db()
    assert session.cost_usd == log.cost_usd
    assert spend(session.organization) == log.cost_usd
    assert spend(session.organization, str(member.pk)) == log.cost_usd
    row = Spend.objects.get(organization=session.organization, subject="")
    assert row.period == month_of(log.created_at) and row.tool_cost_usd == log.cost_usd


def test_a_replayed_pre_tool_use_is_charged_once(session, superuser):
    set_rate(superuser, "Bash", "0.01")
    ingest(session=session, payload=pre("t1"))
    ingest(session=session, payload=pre("t1"))  # the hook client's replay
    session.refresh_from_db()
    assert session.cost_usd == Decimal("0.01")


def test_cost_moves_with_each_model_response_counted_once_per_message_id(session, superuser):
    set_price(superuser, "claude-test", "1000000", "0")  # one dollar per input token
    ingest(
        session=session,
        payload=assistant("msg_1", text="thinking", model="claude-test", input_tokens=2),
    )
    session.refresh_from_db()
    assert session.cost_usd == Decimal(2)
    # The same response's next block repeats its usage: not counted again.
    ingest(session=session, payload=assistant("msg_1", model="claude-test", input_tokens=2))
    ingest(session=session, payload=assistant("msg_2", model="claude-test", input_tokens=3))
    session.refresh_from_db()
    assert session.cost_usd == Decimal(5)
    charges = TokenCharge.objects.filter(session=session).order_by("message_id")
    assert [(c.message_id, c.cost_usd) for c in charges] == [
        ("msg_1", Decimal(2)),
        ("msg_2", Decimal(3)),
    ]
    # A message of tool calls only has no text: no empty message is shown for it.
    assert list(session.messages.values_list("content", flat=True)) == ["thinking"]


def test_an_unknown_model_keeps_its_tokens_at_no_cost(session):
    ingest(session=session, payload=assistant("m", model="scripted-demo-model", input_tokens=7))
    charge = TokenCharge.objects.get(session=session)
    assert (charge.priced, charge.input_tokens, charge.cost_usd) == (False, 7, Decimal(0))


# After commit, as in production: signals are sent once the writer commits.
@pytest.mark.django_db(transaction=True)
def test_the_session_budget_denies_the_call_that_would_cross_it(session, superuser, crossings):
    set_rate(superuser, "Bash", "1")
    session_services.update_session(session=session, actor=None, budget_limit=Decimal("3.5"))
    answers = [tool_call(session, f"t{i}") for i in range(5)]
    assert [denied(a) is None for a in answers] == [True, True, True, False, False]
    assert "session budget of $3.5" in denied(answers[3])
    session.refresh_from_db()
    assert session.status == SessionStatus.BUDGET_EXCEEDED
    assert session.budget_exceeded_at is not None
    assert session.cost_usd == Decimal(3)
    ran = CommandLog.objects.filter(session=session, is_error=False).count()
    assert ran == 3
    assert [(c["scope"], c["threshold_percent"]) for c in crossings] == [("session", 80)]


def test_metadata_budget_counts_as_the_seed_had_it(member, superuser):
    set_rate(superuser, "Bash", "1")
    session = new_session(member, mode=SessionMode.ATTACHED, metadata={"budget": 1})
    assert denied(tool_call(session, "t1")) is None
    assert "session budget" in denied(tool_call(session, "t2"))


# After commit, as in production: signals are sent once the writer commits.
@pytest.mark.django_db(transaction=True)
def test_token_cost_reaching_the_budget_pauses_the_session(session, superuser, crossings):
    set_price(superuser, "claude-test", "1000000", "0")
    session_services.update_session(session=session, actor=None, budget_limit=Decimal(2))
    ingest(session=session, payload={"hook_event_name": "SessionStart"})
    ingest(session=session, payload=assistant("m1", model="claude-test", input_tokens=3))
    session.refresh_from_db()
    assert session.status == SessionStatus.BUDGET_EXCEEDED
    assert [c["threshold_percent"] for c in crossings] == [80, 100]
    assert "budget" in denied(tool_call(session, "t1"))


def test_raising_the_budget_resumes_an_attached_session(session, superuser):
    set_rate(superuser, "Bash", "1")
    session_services.update_session(session=session, actor=None, budget_limit=Decimal(1))
    tool_call(session, "t1")
    assert denied(tool_call(session, "t2"))
    session = session_services.update_session(session=session, actor=None, budget_limit=Decimal(5))
    assert session.status == SessionStatus.IDLE
    assert denied(tool_call(session, "t3")) is None


# After commit, as in production: signals are sent once the writer commits.
@pytest.mark.django_db(transaction=True)
def test_the_organizations_monthly_budget_covers_all_its_sessions(
    member, owner, superuser, crossings
):
    set_rate(superuser, "Bash", "1")
    services.set_budget(actor=owner, organization=owner.organization, monthly_limit_usd=Decimal(2))
    first = new_session(member, name="a", mode=SessionMode.ATTACHED)
    second = new_session(member, name="b", mode=SessionMode.ATTACHED)
    assert denied(tool_call(first, "t1")) is None
    assert denied(tool_call(second, "t2")) is None
    reason = denied(tool_call(first, "t3"))
    assert "organization's monthly budget of $2" in reason
    assert spend(owner.organization) == Decimal(2)
    assert [(c["scope"], c["threshold_percent"], c["session"]) for c in crossings] == [
        ("organization", 80, None),
        ("organization", 100, None),
    ]


def test_a_users_monthly_budget_covers_their_sessions_only(member, owner, superuser):
    set_rate(superuser, "Bash", "1")
    services.set_budget(
        actor=owner, organization=owner.organization, user=member, monthly_limit_usd=Decimal(1)
    )
    mine = new_session(member, name="m", mode=SessionMode.ATTACHED)
    theirs = new_session(owner, name="o", mode=SessionMode.ATTACHED)
    assert denied(tool_call(mine, "t1")) is None
    assert "user's monthly budget" in denied(tool_call(mine, "t2"))
    assert denied(tool_call(theirs, "t3")) is None


def test_a_denied_call_costs_nothing(session, superuser):
    set_rate(superuser, "Bash", "1")
    session_services.update_session(session=session, actor=None, budget_limit=Decimal("0.5"))
    tool_call(session, "t1")
    session.refresh_from_db()
    assert session.cost_usd == 0
    assert CommandLog.objects.get(session=session).cost_usd is None


def test_only_admins_set_budgets(member, owner, outsider):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_budget(actor=member, organization=member.organization, monthly_limit_usd=1)
    with pytest.raises(PermissionDenied):
        services.set_budget(actor=outsider, organization=owner.organization, monthly_limit_usd=1)


def test_the_runner_reports_each_responses_final_usage_from_the_stream():
    def event(body: dict, parent=None) -> StreamEvent:
        return StreamEvent(uuid="u", session_id="s", event=body, parent_tool_use_id=parent)

    usage = ResponseUsage()
    first = {"input_tokens": 100, "output_tokens": 1}
    start = {"id": "msg_1", "model": "claude-opus-5-5", "usage": first}
    assert usage.seen(event({"type": "message_start", "message": start})) is None
    assert usage.seen(event({"type": "content_block_delta"})) is None
    payload = usage.seen(event({"type": "message_delta", "usage": {"output_tokens": 28}}))
    assert payload["message_id"] == "msg_1" and payload["model"] == "claude-opus-5-5"
    assert payload["usage"] == {"input_tokens": 100, "output_tokens": 28}
    # A delta with no response open (never started here) reports nothing.
    assert usage.seen(event({"type": "message_delta", "usage": {"output_tokens": 3}})) is None


def test_a_tool_call_is_priced_at_the_rate_of_its_own_time(session, superuser, monkeypatch, seeded):
    later = timezone.now() + timedelta(hours=1)
    services.add_tool_rate(
        actor=superuser,
        organization=None,
        tool="Bash",
        per_execution_usd=Decimal("0.5"),
        effective_from=later,
    )
    tool_call(session, "t1")  # now: the seeded rate
    monkeypatch.setattr(timezone, "now", lambda: later + timedelta(seconds=1))
    tool_call(session, "t2")
    logs = CommandLog.objects.filter(session=session).order_by("seq")
    assert list(logs.values_list("cost_usd", flat=True)) == [Decimal("0.001"), Decimal("0.5")]
    session.refresh_from_db()
    assert session.cost_usd == Decimal("0.501")  # the first call was not re-priced
