"""The operations console's sessions: a changelist that fits a laptop, an event record the
console only reads, honest model labels, links to the dashboard and readable numbers."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import TokenCharge
from sessions import services
from sessions.choices import Direction, SessionMode
from sessions.models import CleanupRecord, CommandLog, HookEvent, Session, SessionMessage
from tenants.choices import Role
from tenants.models import Organization, User
from tests.conftest import PASSWORD, new_session
from tests.screenshots import save
from tests.sessions.web.test_dashboard_browser import page, server  # noqa: F401

EVENT_RECORD = [CommandLog, SessionMessage, HookEvent, CleanupRecord]


@pytest.fixture
def console(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def admin_url(model, action: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{action}", args=args)


def recorded(session: Session) -> Session:
    services.record_command(session=session, tool="Bash", input={"command": "ls"}, result="x")
    services.record_message(session=session, direction=Direction.ASSISTANT, content="done")
    return session


# --------------------------------------------------------------------------
# The event record is read-only
# --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("model", EVENT_RECORD, ids=lambda m: m.__name__)
def test_the_console_offers_no_add_for_the_event_record(console, member, model) -> None:
    recorded(new_session(member))
    assert console.get(admin_url(model, "add")).status_code == 403
    changelist = console.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert admin_url(model, "add") not in changelist.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("model", [CommandLog, SessionMessage], ids=lambda m: m.__name__)
def test_logs_and_messages_can_be_read_but_not_changed_or_deleted(console, member, model):
    recorded(new_session(member))
    row = model.objects.get()
    html = console.get(admin_url(model, "change", row.pk))
    assert html.status_code == 200 and b'name="_save"' not in html.content
    assert console.post(admin_url(model, "change", row.pk), {}).status_code == 403
    assert console.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_a_session_cannot_be_deleted_from_the_console(console, member) -> None:
    session = recorded(new_session(member))
    url = admin_url(Session, "delete", session.pk)
    assert console.post(url, {"post": "yes"}).status_code == 403
    assert CommandLog.objects.filter(session=session).count() == 1


# --------------------------------------------------------------------------
# Labels, links, numbers
# --------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_attached_session_is_labelled_as_the_users_own_claude_code(console, member, api):
    attached = new_session(member, name="laptop", mode=SessionMode.ATTACHED)
    changelist = console.get(admin_url(Session, "changelist")).content.decode()
    assert "own Claude Code" in changelist and "Anthropic API" not in changelist
    html = console.get(admin_url(Session, "change", attached.pk)).content.decode()
    assert "own Claude Code (no model seen yet)" in html
    assert api(member).get(f"/api/sessions/{attached.pk}/").json()["model_backend"] == (
        "own Claude Code"
    )


@pytest.mark.django_db
def test_the_model_an_attached_session_was_charged_for_is_named(console, member) -> None:
    attached = new_session(member, name="laptop", mode=SessionMode.ATTACHED)
    for message_id in ("m1", "m2"):
        TokenCharge.objects.create(
            session=attached,
            organization=attached.organization,
            message_id=message_id,
            model="claude-sonnet-4-5",
            created_at=timezone.now(),
        )
    html = console.get(admin_url(Session, "change", attached.pk)).content.decode()
    assert "own Claude Code (claude-sonnet-4-5)" in html


@pytest.mark.django_db
def test_a_managed_session_names_the_models_of_its_results(console, member) -> None:
    managed = new_session(member)
    usage = {"claude-opus-5-5": {}}
    Session.objects.filter(pk=managed.pk).update(scripted_model=False, model_usage=usage)
    html = console.get(admin_url(Session, "change", managed.pk)).content.decode()
    assert "Anthropic API (claude-opus-5-5)" in html


@pytest.mark.django_db
def test_admin_sessions_link_to_their_dashboard_page(console, member) -> None:
    session = new_session(member)
    dashboard = reverse("sessions:detail", args=[session.pk])
    changelist = console.get(admin_url(Session, "changelist")).content.decode()
    assert f'href="{dashboard}"' in changelist
    html = console.get(admin_url(Session, "change", session.pk)).content.decode()
    links = re.findall(r'<a href="([^"]+)"[^>]*>View in dashboard</a>', html)
    assert links and set(links) == {dashboard}
    assert console.get(dashboard).status_code == 200


@pytest.mark.django_db
def test_counts_and_costs_have_thousands_separators(console, member) -> None:
    session = recorded(new_session(member))
    Session.objects.filter(pk=session.pk).update(
        input_tokens=1234567, output_tokens=89012, tool_call_count=12345, cost_usd=Decimal("4321.5")
    )
    CommandLog.objects.filter(session=session).update(duration_ms=65432, cost_usd=Decimal("1234"))
    changelist = console.get(admin_url(Session, "changelist")).content.decode()
    assert "1,323,579" in changelist  # tokens in and out
    assert "12,345" in changelist and "$4,321.5000" in changelist
    html = console.get(admin_url(Session, "change", session.pk)).content.decode()
    assert "1,234,567" in html and "89,012" in html and "12,345" in html
    logs = console.get(admin_url(CommandLog, "changelist")).content.decode()
    assert "65,432" in logs and "1,234.000000" in logs


# --------------------------------------------------------------------------
# The changelist at 1280 px, in a real browser
# --------------------------------------------------------------------------


@pytest.fixture
def operator(db) -> User:
    """A superuser whose password the server can check (PBKDF2, few iterations)."""
    user = User(username="ops", role=Role.USER, is_staff=True, is_superuser=True)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "admin-tests", iterations=1000)
    user.save()
    return user


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_sessions_changelist_fits_a_laptop_screen(page, operator, member) -> None:  # noqa: F811
    long_name = "Acme Widgets International Holdings and Subsidiaries"
    Organization.objects.filter(pk=member.organization_id).update(name=long_name)
    for number in range(3):
        session = recorded(
            new_session(
                member,
                name=f"Nightly dependency upgrade and full regression run number {number} "
                "for the widgets monorepo",
                github_repo="acme/a-repository-with-a-rather-long-name-indeed",
            )
        )
        Session.objects.filter(pk=session.pk).update(
            input_tokens=12345678, output_tokens=1234567, cost_usd=Decimal("12345.678901")
        )
    new_session(member, name="laptop", mode=SessionMode.ATTACHED)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/login/?next=/admin/agent_sessions/session/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 4
    widths = page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            viewport: document.documentElement.clientWidth,
            table: document.querySelector('#result_list').scrollWidth,
            box: document.querySelector('#changelist .results').clientWidth,
        })"""
    )
    save(page, "admin-sessions-changelist")
    assert widths["page"] <= widths["viewport"], widths
    assert widths["table"] <= widths["box"], widths
    page.click("#result_list tbody tr:last-child th a")
    page.wait_for_selector("text=View in dashboard")
    save(page, "admin-session-change")
