"""The billing API: rates and prices (history), budgets, the report, and sessions' cost."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from sessions.choices import SessionMode
from sessions.ingest import ingest
from sessions.models import Session
from tests.billing.conftest import assistant, set_price, set_rate, tool_call
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


def test_superusers_add_platform_rates_and_admins_their_overrides(
    api, superuser, owner, member, seeded
):
    answer = api(superuser).post(
        "/api/billing/tool-rates/", {"tool": "Bash", "per_execution_usd": "0.5"}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["organization"] is None
    mine = api(owner).post(
        "/api/billing/tool-rates/", {"tool": "Read", "per_execution_usd": "0.2"}, format="json"
    )
    assert mine.status_code == 201 and mine.json()["organization"] == owner.organization.slug
    refused = api(member).post(
        "/api/billing/tool-rates/", {"tool": "Read", "per_execution_usd": "0.2"}, format="json"
    )
    assert refused.status_code == 403
    tools = [
        (r["tool"], r["organization"]) for r in api(member).get("/api/billing/tool-rates/").json()
    ]
    assert ("Read", owner.organization.slug) in tools and ("Bash", None) in tools


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tool": "", "per_execution_usd": "1"}, "tool"),
        ({"tool": "Bash", "per_execution_usd": "-1"}, "per_execution_usd"),
        ({"tool": "Bash", "per_execution_usd": "NaN"}, "per_execution_usd"),
        (
            {"tool": "Bash", "per_execution_usd": "1", "effective_from": "2001-01-01T00:00Z"},
            "effective_from",
        ),
        ({"tool": "Bash", "per_execution_usd": "1", "colour": "red"}, "colour"),
    ],
)
def test_bad_rate_input_is_a_400_naming_the_field(api, superuser, body, field):
    answer = api(superuser).post("/api/billing/tool-rates/", body, format="json")
    assert answer.status_code == 400 and field in answer.json(), answer.json()


def test_model_prices_are_listed_and_added_by_superusers(api, superuser, owner, seeded):
    body = {
        "model": "claude-next",
        "aliases": ["next"],
        "input_per_mtok": "2",
        "output_per_mtok": "8",
        "cache_write_per_mtok": "2.5",
        "cache_read_per_mtok": "0.2",
    }
    assert api(owner).post("/api/billing/model-prices/", body, format="json").status_code == 403
    answer = api(superuser).post("/api/billing/model-prices/", body, format="json")
    assert answer.status_code == 201, answer.json()
    models = [p["model"] for p in api(owner).get("/api/billing/model-prices/").json()]
    assert "claude-next" in models and "claude-sonnet-4-5" in models


def test_admins_set_the_organizations_and_members_budgets(api, owner, member):
    answer = api(owner).put(
        "/api/billing/budgets/",
        {
            "monthly_limit_usd": "100",
            "users": [{"username": member.username, "monthly_limit_usd": "10"}],
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    data = api(owner).get("/api/billing/budgets/").json()
    assert Decimal(data["monthly_limit_usd"]) == 100
    assert [(u["username"], Decimal(u["monthly_limit_usd"])) for u in data["users"]] == [
        (member.username, 10)
    ]
    assert api(member).get("/api/billing/budgets/").status_code == 403


def test_a_budget_for_a_stranger_is_a_400_and_writes_nothing(api, owner, outsider):
    answer = api(owner).put(
        "/api/billing/budgets/",
        {
            "monthly_limit_usd": "5",
            "users": [{"username": outsider.username, "monthly_limit_usd": "1"}],
        },
        format="json",
    )
    assert answer.status_code == 400 and "users" in answer.json()
    assert api(owner).get("/api/billing/budgets/").json()["monthly_limit_usd"] is None


def test_a_session_takes_a_budget_and_answers_its_costs(api, member, superuser):
    set_rate(superuser, "Bash", "1")
    created = api(member).post(
        "/api/sessions/",
        {
            "name": "budgeted",
            "mode": "attached",
            "project_type": "github",
            "github_repo": "acme/widgets",
            "budget_limit": "4",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    session_id = created.json()["id"]
    tool_call(Session.objects.get(pk=session_id), "t1")
    data = api(member).get(f"/api/sessions/{session_id}/").json()
    assert Decimal(data["cost_usd"]) == 1 and Decimal(data["budget_limit"]) == 4
    assert data["budget_used_pct"] == 25.0 and Decimal(data["claude_cost_usd"]) == 0
    patched = api(member).patch(
        f"/api/sessions/{session_id}/", {"budget_limit": "10"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["budget_used_pct"] == 10.0
    bad = api(member).patch(f"/api/sessions/{session_id}/", {"budget_limit": "-1"}, format="json")
    assert bad.status_code == 400 and "budget_limit" in bad.json()


def test_the_report_groups_costs_by_tool_model_and_user_as_json_and_csv(api, member, superuser):
    set_rate(superuser, "Bash", "1")
    set_rate(superuser, "Read", "0.5")
    set_price(superuser, "claude-test", "1000000", "0")
    session = new_session(member, mode=SessionMode.ATTACHED)
    tool_call(session, "t1")
    tool_call(session, "t2", tool="Read")
    ingest(session=session, payload=assistant("m1", model="claude-test", input_tokens=2))
    by_tool = api(member).get("/api/billing/report?group_by=tool").json()
    assert [(r["key"], Decimal(r["cost_usd"])) for r in by_tool] == [
        ("(model tokens)", 2),
        ("Bash", 1),
        ("Read", Decimal("0.5")),
    ]
    by_model = api(member).get("/api/billing/report?group_by=model").json()
    assert {r["key"]: Decimal(r["cost_usd"]) for r in by_model} == {
        "claude-test": 2,
        "(tool calls)": Decimal("1.5"),
    }
    by_user = api(member).get("/api/billing/report?group_by=user").json()
    assert [(r["key"], Decimal(r["cost_usd"])) for r in by_user] == [
        (member.username, Decimal("3.5"))
    ]
    answer = api(member).get("/api/billing/report?group_by=day&format=csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert len(rows) == 1 and Decimal(rows[0]["cost_usd"]) == Decimal("3.5")


@pytest.mark.parametrize(
    "query", ["group_by=planet", "from=yesterday", "from=2026-02-01&to=2026-01-01", "size=3"]
)
def test_a_bad_report_query_is_a_400(api, member, query):
    assert api(member).get(f"/api/billing/report?{query}").status_code == 400


def test_the_report_shows_ones_own_organization_only(api, member, outsider, superuser):
    set_rate(superuser, "Bash", "1")
    tool_call(new_session(outsider, mode=SessionMode.ATTACHED), "t1")
    assert api(member).get("/api/billing/report?group_by=tool").json() == []


def test_the_cost_page_shows_the_chart_breakdowns_and_csv_links(web, member, superuser, outsider):
    set_rate(superuser, "Bash", "1")
    tool_call(new_session(member, mode=SessionMode.ATTACHED), "t1")
    page = web(member).get("/org/costs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-cost-chart" in html and "$1.0000" in html
    for group in ("user", "template", "tool", "model"):
        assert f'data-breakdown="{group}"' in html
    assert "group_by=tool" in html and "format=csv" in html
    assert web(outsider).get("/org/costs/").content.decode().count("$1.0000") == 0
    assert web(member).get("/org/costs/?start=2026-02-01&to=2026-01-01").status_code == 400


def test_the_session_page_meters_cost_against_the_budget(web, member, superuser):
    set_rate(superuser, "Bash", "1")
    session = new_session(
        member, mode=SessionMode.ATTACHED, budget_limit=Decimal("1.2"), name="metered"
    )
    tool_call(session, "t1")
    html = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert 'data-fact="budget-meter"' in html and 'value="83.3"' in html
    assert 'data-fact="budget-warning">Approaching' in html and "$1.0000" in html
    statuses = web(member).get(f"/sessions/statuses/?id={session.pk}").json()["sessions"][0]
    assert statuses["cost_usd"] == "1.0000" and statuses["budget_warning"] is True
    listing = web(member).get("/").content.decode()
    assert "data-cost" in listing and "data-tool-calls" in listing
