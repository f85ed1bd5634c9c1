"""The page's controls in a real browser: stopping asks for confirmation and a reason, a
banner about a turn goes when the turn is over, configuration blocks copy with one click,
and numbers read in the reader's locale."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sessions.choices import SessionMode, SessionStatus
from sessions.models import Session
from tests.conftest import new_session
from tests.screenshots import save
from tests.sessions.web.test_dashboard_browser import (
    let_the_turn_finish,
    log_in,
    open_live,
    start_session,
    wait_for_status,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

STOP_DIALOG = "#stop-dialog"
IS_MODAL = "document.querySelector('#stop-dialog').matches(':modal')"


def test_stop_asks_for_confirmation_and_takes_a_reason(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "Take your time [scenario:slow]")
    open_live(page, session_id)
    wait_for_status(page, SessionStatus.RUNNING)
    page.click("button:has-text('Stop session…')")
    page.wait_for_selector(f"{STOP_DIALOG}[open]")
    assert page.evaluate(IS_MODAL) is True
    # The reason, not the Stop button, has the focus: Enter alone does not stop.
    assert page.evaluate("document.activeElement.name") == "reason"
    save(page, "stop-dialog")
    # Cancel stops nothing.
    page.click(f"{STOP_DIALOG} button:has-text('Cancel')")
    assert page.evaluate(IS_MODAL) is False
    assert Session.objects.get(pk=session_id).status == SessionStatus.RUNNING
    page.click("button:has-text('Stop session…')")
    page.fill(f"{STOP_DIALOG} textarea[name=reason]", "Wrong branch")
    page.click("[data-stop-submit]")
    page.wait_for_selector("text=Session stopped.")
    wait_for_status(page, SessionStatus.STOPPED)
    assert page.text_content("[data-status-reason]") == "Wrong branch"
    assert not page.is_visible("button:has-text('Stop session…')")
    let_the_turn_finish(session_id)
    session = Session.objects.get(pk=session_id)
    assert (session.status, session.status_reason) == (SessionStatus.STOPPED, "Wrong branch")


def test_the_message_sent_banner_goes_when_its_turn_is_over(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "[scenario:default]")
    open_live(page, session_id)
    wait_for_status(page, SessionStatus.COMPLETED)
    page.wait_for_selector("[data-follow-up-submit]:not([disabled])")
    page.fill("#id_content", "Once more [scenario:slow]")
    page.click("[data-follow-up-submit]")
    banner = "text=Message sent; the session is running again."
    page.wait_for_selector(banner)
    page.evaluate("window.__sameDocument = true")
    wait_for_status(page, SessionStatus.COMPLETED)
    page.wait_for_selector(banner, state="detached")
    assert page.evaluate("window.__sameDocument") is True


def test_copy_buttons_copy_the_hook_configuration(page, person):
    session = new_session(person, name="attached", mode=SessionMode.ATTACHED)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, person)
    page.goto(f"/sessions/{session.pk}/hook-config/")
    blocks = page.query_selector_all("[data-copy]")
    assert len(blocks) == 3
    buttons = page.query_selector_all(".copy-button")
    assert len(buttons) == 3
    save(page, "hook-config")
    for button, block in zip(buttons, blocks, strict=True):
        button.click()
        page.wait_for_function(
            "b => b.parentElement.querySelector('.copy-note').textContent === 'Copied'",
            arg=button,
        )
        assert page.evaluate("navigator.clipboard.readText()") == block.text_content()


def test_copy_works_where_the_clipboard_api_is_missing(page, person):
    """Plain HTTP on a private network has no navigator.clipboard: the text is selected and
    copied the older way."""
    session = new_session(person, name="attached", mode=SessionMode.ATTACHED)
    log_in(page, person)
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', { value: undefined })")
    page.goto(f"/sessions/{session.pk}/hook-config/")
    page.click(".copy-bar:has(+ [data-config=telemetry]) .copy-button")
    page.wait_for_selector(".copy-note:text('Copied')")
    selected = page.evaluate("window.getSelection().toString()")
    assert selected == page.text_content("[data-config=telemetry]")


@pytest.mark.parametrize(
    ("locale", "tokens", "cost"),
    [("en-US", "1,234,567 / 89,012", "$1,234.50"), ("de-DE", "1.234.567 / 89.012", "1.234,50 $")],
)
def test_numbers_read_in_the_readers_locale(browser, server, person, locale, tokens, cost):
    session = new_session(person, name="counted")
    Session.objects.filter(pk=session.pk).update(
        input_tokens=1_234_567, output_tokens=89_012, cost_usd=Decimal("1234.5")
    )
    context = browser.new_context(base_url=server, locale=locale)
    try:
        reader = context.new_page()
        log_in(reader, person)
        reader.goto(f"/sessions/{session.pk}/")
        assert reader.text_content("[data-fact=tokens]") == tokens
        # Intl puts a no-break space between the amount and the sign in German.
        assert reader.text_content("[data-fact=cost]").replace("\xa0", " ") == cost
        reader.goto("/")
        row = f"[data-session-id='{session.pk}']"
        assert reader.text_content(f"{row} [data-cost]").replace("\xa0", " ") == cost
    finally:
        context.close()
