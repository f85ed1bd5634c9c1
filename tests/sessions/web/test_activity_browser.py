"""What the agent is doing now, in a real browser: a tool call shows as running (tool,
summary, a moving timer) from its PreToolUse and is completed in place by its log row; the
page says the model is thinking between calls; each turn ends with a separator giving its
duration, tokens and cost. The real Claude Code CLI plays the scripted `slow` scenario."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from sessions.choices import SessionStatus
from sessions.models import Session, SessionTurn
from sessions.web.views import duration_label
from tests.screenshots import save
from tests.sessions.web.test_dashboard_browser import (
    TURN_TIMEOUT_MS,
    log_in,
    open_live,
    start_session,
    wait_for_status,
    wait_until_live,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

RUNNING = "#running-tools li.log-running"
# Notes whether the "thinking" line was ever shown: between two calls it may show briefly.
WATCH_THINKING = """() => {
  const line = document.querySelector("[data-activity]");
  window.__thinkingSeen = !line.hidden;
  new MutationObserver(() => { if (!line.hidden) window.__thinkingSeen = true; })
    .observe(line, { attributes: true, attributeFilter: ["hidden"] });
}"""


def elapsed_seconds(on_page, tool_use_id: str) -> int:
    text = on_page.text_content(f'{RUNNING}[data-tool-use-id="{tool_use_id}"] [data-slot=elapsed]')
    found = re.fullmatch(r"(\d+) s", text.strip())
    assert found, text
    return int(found[1])


def usd_in_english(amount: Decimal) -> str:
    """What the page's numbers.js shows in an en-US browser: two to four decimals."""
    text = f"${amount:,.4f}"
    return text[:-2] + text[-2:].rstrip("0") if text.endswith("0") else text


def test_a_running_call_its_timer_thinking_and_the_turn_separators(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "Take your time [scenario:slow]")
    open_live(page, session_id, "ws")
    wait_until_live(page, "ws")
    page.evaluate(WATCH_THINKING)

    # A Bash call runs for 2 s: it shows at once, with its command, and its timer moves.
    row = page.wait_for_selector(RUNNING, timeout=TURN_TIMEOUT_MS)
    tool_use_id = row.get_attribute("data-tool-use-id")
    assert row.query_selector("[data-slot=tool]").text_content() == "Bash"
    assert "sleep 2 && echo tick" in row.query_selector("[data-slot=summary]").text_content()
    save(page, "activity-running")
    first = elapsed_seconds(page, tool_use_id)
    page.wait_for_function(
        "([id, was]) => { const e = document.querySelector("
        "`#running-tools li[data-tool-use-id='${id}'] [data-slot=elapsed]`);"
        " return !e || parseInt(e.textContent) > was; }",
        arg=[tool_use_id, first],
    )
    # Its PostToolUse completes it in place: the running row goes, its log row is there.
    page.wait_for_selector(f'#command-log li[data-seq][data-tool-use-id="{tool_use_id}"]')
    assert page.query_selector(f'{RUNNING}[data-tool-use-id="{tool_use_id}"]') is None

    wait_for_status(page, SessionStatus.COMPLETED)
    assert page.evaluate("window.__thinkingSeen") is True
    assert page.is_hidden("[data-activity]") and page.query_selector(RUNNING) is None
    separator = page.wait_for_selector('#command-log li.turn-separator[data-turn="1"]')
    turn = SessionTurn.objects.get(session_id=session_id, number=1)
    facts = separator.text_content()
    assert duration_label(turn.duration_ms) in facts and usd_in_english(turn.cost_usd) in facts
    # After the turn's last tool call: the separator closes the log.
    assert (
        page.evaluate("document.querySelector('#command-log').lastElementChild.dataset.turn") == "1"
    )

    # A follow-up (the form posts and the page reloads) is a second turn; its separator
    # arrives live when it ends.
    page.fill("#id_content", "Once more [scenario:bash_write]")
    page.click("button:has-text('Send')")
    wait_for_status(page, SessionStatus.COMPLETED)
    page.wait_for_selector('#command-log li.turn-separator[data-turn="2"]')
    session = Session.objects.get(pk=session_id)
    kinds = page.eval_on_selector_all(
        "#command-log > li", "rows => rows.map(r => r.dataset.turn ? 'turn' : r.dataset.kind)"
    )
    assert kinds == ["log"] * 3 + ["turn"] + ["log"] * 2 + ["turn"], kinds
    assert session.turns.count() == 2
    save(page, "activity-turns")
