"""The session list and the new-session form in a real browser (Debian's chromium driven by
Playwright) against the app served by daphne: the search, sessions created elsewhere showing
up without a reload, numbers in the reader's locale, and the advanced options submitted
through the form to a real run of the Claude Code CLI against the scripted model."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from sessions.choices import SessionMode, SessionStatus
from sessions.models import Session
from tests.conftest import new_session
from tests.screenshots import save
from tests.sessions.web.test_dashboard_browser import TURN_TIMEOUT_MS, let_the_turn_finish, log_in
from tests.templates.conftest import make_template

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

# The list's first page asks for new sessions every few seconds (list.js, DISCOVERY_MS).
ARRIVAL_TIMEOUT_MS = 25_000


def attached(user, name: str, **extra) -> Session:
    """A session made outside the browser, through the service; attached, so no agent runs."""
    return new_session(user, name=name, mode=SessionMode.ATTACHED, **extra)


def row(session: Session) -> str:
    return f'[data-session-list] [data-session-id="{session.pk}"]'


def shown_names(page) -> list[str]:
    return page.eval_on_selector_all(".session-name", "links => links.map(a => a.textContent)")


def test_the_search_finds_sessions_by_name_prompt_and_repository(page, person):
    attached(person, "Fix the login bug", github_repo="acme/portal")
    attached(person, "nightly", initial_prompt="Upgrade the login library")
    attached(person, "docs", github_repo="acme/login-service")
    attached(person, "unrelated", initial_prompt="Rename a variable")
    log_in(page, person)
    assert len(shown_names(page)) == 4
    page.fill("input[name=q]", "login")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"\?q=login"))
    assert sorted(shown_names(page)) == ["Fix the login bug", "docs", "nightly"]
    assert "3 sessions matching “login”" in page.text_content("[data-list-count]")
    assert page.input_value("input[name=q]") == "login"
    page.fill("input[name=q]", "no such thing")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("text=No session matches “no such thing”")
    assert shown_names(page) == []
    save(page, "session-list-no-match")


def test_a_session_created_elsewhere_appears_without_a_reload(page, person):
    attached(person, "already here")
    log_in(page, person)
    page.evaluate("window.__sameDocument = true")
    fresh = attached(person, "made <b>elsewhere</b>", initial_prompt="Deploy it")
    page.wait_for_selector(row(fresh), timeout=ARRIVAL_TIMEOUT_MS)
    assert shown_names(page) == ["made <b>elsewhere</b>", "already here"]
    assert page.text_content("[data-list-count]").split() == ["2", "sessions"]
    assert page.locator("[data-session-list] b").count() == 0  # text, not markup
    assert page.text_content(f"{row(fresh)} [data-prompt]") == "Deploy it"
    assert page.text_content(f"{row(fresh)} [data-status-badge]") == "Pending"
    # A pending session's duration runs on.
    first = page.text_content(f"{row(fresh)} [data-duration]")
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).textContent !== before",
        arg=[f"{row(fresh)} [data-duration]", first],
    )
    assert page.evaluate("window.__sameDocument") is True
    save(page, "session-list")


def test_new_sessions_arrive_only_when_they_match_the_search(page, person):
    log_in(page, person)
    page.goto("/?q=deploy")
    page.wait_for_selector("[data-empty-list]")
    page.evaluate("window.__sameDocument = true")
    attached(person, "write the docs")
    matching = attached(person, "deploy the app")
    page.wait_for_selector(row(matching), timeout=ARRIVAL_TIMEOUT_MS)
    assert shown_names(page) == ["deploy the app"]
    assert page.locator("[data-empty-list]").count() == 0
    assert page.evaluate("window.__sameDocument") is True


def test_numbers_are_shown_in_the_readers_locale(server, browser, person):
    session = attached(person, "busy")
    Session.objects.filter(pk=session.pk).update(tool_call_count=12345, cost_usd=Decimal("1234.5"))
    context = browser.new_context(base_url=server, locale="de-DE")
    try:
        page = context.new_page()
        log_in(page, person)
        assert page.text_content(f"{row(session)} [data-tool-calls]") == "12.345"
        assert page.text_content(f"{row(session)} [data-cost]").replace("\xa0", " ") == (
            "1.234,50 $"
        )
    finally:
        context.close()


def test_advanced_options_are_folded_then_chosen_and_submitted(page, person, repo_url):
    log_in(page, person)
    page.goto("/sessions/new/")
    assert not page.is_visible("#id_max_turns")  # folded under "Advanced"
    assert page.locator("input[name=project_type][value=local]").count() == 0
    # The server's default (the test server runs bypassPermissions) is filled in.
    assert page.is_checked("input[name=permission_mode][value=bypassPermissions]")
    save(page, "session-new")
    page.click("details[data-advanced] > summary")
    assert page.is_visible("#id_max_turns")
    page.fill("#id_name", "with options")
    page.fill("#id_github_repo", repo_url)
    page.fill("#id_initial_prompt", "[scenario:default]")
    page.fill("#id_model", "claude-sonnet-4-5")
    page.check("input[name=permission_mode][value=acceptEdits]")
    page.fill("#id_max_turns", "5")
    page.fill("#id_max_duration", "600")
    save(page, "session-new-advanced")
    page.click("button:has-text('Start session')")
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}/$"))
    session_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    session = Session.objects.get(pk=session_id)
    assert session.metadata == {
        "model": "claude-sonnet-4-5",
        "permissionMode": "acceptEdits",
        "maxTurns": 5,
        "maxDuration": 600,
    }
    # The real CLI ran the turn with them.
    page.wait_for_selector(
        f'[data-status-badge][data-status="{SessionStatus.COMPLETED}"]', timeout=TURN_TIMEOUT_MS
    )
    let_the_turn_finish(session_id)


def test_a_refused_option_unfolds_the_advanced_options_with_the_reason(page, person):
    log_in(page, person)
    page.goto("/sessions/new/")
    page.fill("#id_name", "too many turns")
    page.fill("#id_github_repo", "acme/widgets")
    page.click("details[data-advanced] > summary")
    page.fill("#id_max_turns", "5000")
    page.click("button:has-text('Start session')")
    page.wait_for_selector("details[data-advanced][open] [data-field=max_turns] .error")
    assert "maxTurns must be a whole number" in page.text_content("[data-field=max_turns] .error")
    assert Session.objects.count() == 0


def test_with_a_template_chosen_its_options_apply_not_the_advanced_ones(page, person):
    template = make_template(person)
    log_in(page, person)
    page.goto("/sessions/new/")
    assert page.is_visible("details[data-advanced]")
    page.select_option("#id_template", str(template.pk))
    assert not page.is_visible("details[data-advanced]")
    assert page.is_disabled("#id_max_turns")
    page.select_option("#id_template", "")
    assert page.is_visible("details[data-advanced]") and not page.is_disabled("#id_max_turns")
