"""Readable tool calls in a real browser: the real Claude Code CLI plays the scripted
`tool_views` scenario (Write, Read, Edit, Bash, Grep, Glob); each row shows what its call
did (a diff, a command and its output, one line for a search) with workspace-relative paths,
a long output folded, and the raw input one click away. Checked on the rows that arrive live
and again on the same rows rendered by the server after a reload."""

from __future__ import annotations

import pytest

from sessions import services
from sessions.choices import SessionStatus
from sessions.models import Session
from tests.screenshots import save
from tests.sessions.web.test_dashboard_browser import (
    log_in,
    open_live,
    start_session,
    wait_for_status,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

TOOLS = ["Write", "Read", "Edit", "Bash", "Grep", "Glob"]
BASH_COMMAND = "echo 'counting:' && seq 1 60"
HOSTILE = '<img src=x onerror="window.__owned = true">'


def row(on_page, tool: str):
    return on_page.locator(f'#command-log li[data-tool-view="{tool}"]')


def texts(on_page, tool: str, selector: str) -> list[str]:
    return row(on_page, tool).locator(selector).all_text_contents()


def open_every_row(on_page) -> None:
    on_page.eval_on_selector_all(
        "#command-log li[data-tool-view] > details", "e => e.forEach(d => d.open = true)"
    )


def assert_readable(on_page, session: Session) -> None:
    shown = on_page.eval_on_selector_all(
        "#command-log li[data-tool-view]", "e => e.map(r => r.dataset.toolView)"
    )
    assert shown == TOOLS
    assert_diffs(on_page)
    assert_searches_in_one_line(on_page, session)
    assert_bash_folded_then_shown(on_page)
    # The raw input is still there for whoever debugs, one click away.
    for tool in TOOLS:
        raw = row(on_page, tool).locator("details.toolcall-raw [data-slot=input]").text_content()
        assert '"' in raw and ("file_path" in raw or "command" in raw or "pattern" in raw), raw


def assert_diffs(on_page) -> None:
    added = texts(on_page, "Write", ".diff .diff-add")
    assert "+def greet(name):\n" in added and '+    return f"hello, {name}"\n' in added
    assert texts(on_page, "Write", ".toolcall-line") == ["Write src/app.py — 10 lines"]
    assert texts(on_page, "Edit", ".diff .diff-del") == ['-    return f"hello, {name}"\n']
    assert texts(on_page, "Edit", ".diff .diff-add") == ['+    return f"hello there, {name}"\n']


def assert_searches_in_one_line(on_page, session: Session) -> None:
    lines = {tool: texts(on_page, tool, ".toolcall-line") for tool in ("Read", "Grep", "Glob")}
    assert lines == {
        "Read": ["Read src/app.py (lines 4–6 of 11)"],
        "Grep": ["Grep 'TODO' in src — 1 file"],
        "Glob": ["Glob **/*.py — 2 files"],
    }
    assert "def greet(name):" in row(on_page, "Read").locator(".toolcall-output").text_content()
    assert row(on_page, "Glob").locator(".toolcall-output").text_content() == "app.py\nsrc/app.py"
    summaries = {tool: texts(on_page, tool, "[data-slot=summary]")[0] for tool in TOOLS}
    assert summaries["Read"] == summaries["Write"] == summaries["Edit"] == "src/app.py"
    assert summaries["Grep"] == "TODO in src" and summaries["Glob"] == "**/*.py"
    for text in [*summaries.values(), *(line for found in lines.values() for line in found)]:
        assert "/workspace" not in text and session.project_path not in text, text


def assert_bash_folded_then_shown(on_page) -> None:
    bash = row(on_page, "Bash")
    assert bash.locator(".toolcall-command").text_content() == f"$ {BASH_COMMAND}"
    output = bash.locator(".toolcall-output")
    # 61 lines ("counting:", 1..60): the first 40 are shown, the rest behind a button.
    assert output.text_content().split("\n") == ["counting:", *map(str, range(1, 40))]
    more = bash.locator("button.toolcall-more")
    assert more.text_content() == "Show all 61 lines"
    bash.locator("summary").first.click()
    more.click()
    assert output.text_content().split("\n")[-1] == "60"
    assert bash.locator("button.toolcall-more").count() == 0


def test_tool_calls_read_well_live_and_after_a_reload(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "Show each tool [scenario:tool_views]")
    # The page the form lands on is there before the first tool call: every row comes live.
    page.wait_for_selector('#live-indicator[data-state="live"]')
    wait_for_status(page, SessionStatus.COMPLETED)
    page.wait_for_function(
        "document.querySelectorAll('#command-log li[data-tool-view]').length >= 6"
    )
    assert page.locator("#command-log li[data-kind=log]:not(.row-new)").count() == 0
    session = Session.objects.get(pk=session_id)
    assert_readable(page, session)
    open_every_row(page)
    save(page, "toolcalls-live")

    open_live(page, session_id)
    assert page.locator("#command-log li.row-new").count() == 0  # all rendered by the server
    assert_readable(page, session)
    open_every_row(page)
    save(page, "toolcalls-reloaded")


def test_agent_markup_in_a_readable_view_stays_text(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "[scenario:bash_write]")
    wait_for_status(page, SessionStatus.COMPLETED)
    session = Session.objects.get(pk=session_id)
    open_live(page, session_id, "poll")
    # Recorded by this process after the page loaded: polling reads them from the database.
    for tool, tool_input in [
        ("Bash", {"command": HOSTILE}),
        ("Write", {"file_path": f"/workspace/{HOSTILE}", "content": HOSTILE}),
        ("Grep", {"pattern": HOSTILE, "path": "/workspace"}),
    ]:
        services.record_command(session=session, tool=tool, input=tool_input, result=HOSTILE)
    page.wait_for_selector('#command-log li.row-new[data-tool-view="Grep"]')
    assert_text_only(page)
    # Recorded cut short (over HOOK_RESULT_MAX_BYTES): the readable view says so.
    session.logs.filter(tool="Grep").update(result_bytes=100_000)
    page.reload()
    page.wait_for_selector('#command-log li[data-tool-view="Grep"]')
    assert_text_only(page)
    note = row(page, "Grep").locator(".toolcall-note").text_content()
    assert note == f"Output cut when recorded: 100000 bytes, first {len(HOSTILE)} shown."
    assert row(page, "Bash").locator(".toolcall-note").count() == 0


def assert_text_only(on_page) -> None:
    assert row(on_page, "Bash").last.locator(".toolcall-command").text_content() == f"$ {HOSTILE}"
    assert f"+{HOSTILE}\n" in texts(on_page, "Write", ".diff-add")
    assert row(on_page, "Grep").locator(".toolcall-output").text_content() == HOSTILE
    assert on_page.locator("#command-log img").count() == 0
    assert on_page.evaluate("window.__owned === undefined")
