"""The dashboard in a real browser: Debian's chromium driven by Playwright against the app
served by daphne (HTTP, WebSocket and SSE), running the real Claude Code CLI against the
scripted model in the server's background threads.

Each test logs in through the login page and starts a session with the form, then watches
the page: rows must arrive without a reload, over the forced transport, each seq exactly
once, none missing, across dropped connections.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from sessions import services
from sessions.choices import SessionStatus
from sessions.models import CommandLog, Session
from tenants.choices import Role
from tenants.models import User
from tests.conftest import PASSWORD
from tests.sessions.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

SERVER_START_TIMEOUT = 30
# A turn is the Claude Code CLI starting, a clone and the scenario's steps.
TURN_TIMEOUT_MS = 90_000
ROWS = "[data-live-session] li[data-seq]"
SERVER_APPLICATION_NAME = "dashboard-browser-test-server"


# --- the server -------------------------------------------------------------------------


def database_url() -> str:
    """The test database, for the server process to share."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"].endswith("postgresql"):
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "127.0.0.1"
        port = f":{db['PORT']}" if db["PORT"] else ""
        name = quote(db["NAME"], safe="")
        # Named, so that teardown can wait for exactly the server's connections to go.
        return (
            f"postgres://{credentials}@{host}{port}/{name}"
            f"?application_name={SERVER_APPLICATION_NAME}"
        )
    raise AssertionError(f"no URL form for {db['ENGINE']}")


@pytest.fixture
def server(transactional_db, tmp_path) -> Iterator[str]:
    """daphne serving the app against the test database; its base URL."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
        "DEBUG": "1",
        "DATA_DIR": str(tmp_path / "server"),
        # Where the git_repo fixture puts the repository the sessions clone.
        "GIT_FILE_ROOTS": str(tmp_path / "upstream"),
        "DATABASE_URL": database_url(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SCRIPTED_MODEL": "1",
        "AGENT_DISPATCH": "thread",
        "AGENT_PERMISSION_MODE": "bypassPermissions",
        "AGENT_HEARTBEAT_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "SCRIPTED_MODEL_URL"):
        env.pop(name, None)
    log_path = tmp_path / "daphne.log"
    with log_path.open("wb") as log:
        # Port 0: the kernel picks a free port and daphne logs it; no race for a port.
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0"]
            + ["orchestrator.asgi:application"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: the Claude Code CLIs it starts are stopped with it.
            start_new_session=True,
        )
    try:
        yield _wait_until_serving(process, log_path)
    finally:
        _stop(process)
        print(log_path.read_text()[-5000:])  # shown by pytest when the test failed


def _wait_until_serving(process: subprocess.Popen, log_path: Path) -> str:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"daphne exited with {process.returncode}:\n{log_path.read_text()}")
        found = re.search(r"Listening on TCP address 127\.0\.0\.1:(\d+)", log_path.read_text())
        if found:
            return f"http://127.0.0.1:{found.group(1)}"
        time.sleep(0.1)
    pytest.fail(f"daphne did not start in {SERVER_START_TIMEOUT}s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
    _wait_for_server_connections_to_close()


def _wait_for_server_connections_to_close() -> None:
    """PostgreSQL ends a dead client's backend a moment after the client is gone; the test
    database can only be flushed and dropped once it has."""
    if connection.vendor != "postgresql":
        return

    def alone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = %s",
                [SERVER_APPLICATION_NAME],
            )
            return not cursor.fetchall()

    wait_for(alone, timeout=15)


# --- the browser ------------------------------------------------------------------------


@pytest.fixture
def page(server, browser):
    # The server first: it then stops last, after the browser has let go of the database.
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def person(org) -> User:
    """A member whose password the server can check (the suite's MD5 hasher is not in the
    server's settings): PBKDF2 with few iterations, which the server accepts."""
    user = User(username="dana", organization=org, role=Role.USER)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "browser-tests", iterations=1000)
    user.save()
    return user


@pytest.fixture
def repo_url(git_repo) -> str:
    return git_repo


def log_in(page, user: User) -> None:
    page.goto("/")
    assert "/login/" in page.url
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r"/$"))


def start_session(page, repo_url: str, prompt: str, name: str = "browser") -> str:
    page.goto("/sessions/new/")
    page.fill("#id_name", name)
    page.fill("#id_github_repo", repo_url)
    page.fill("#id_initial_prompt", prompt)
    page.click("button:has-text('Start session')")
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}/$"))
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def open_live(page, session_id: str, transport: str | None = None) -> None:
    page.goto(f"/sessions/{session_id}/" + (f"?transport={transport}" if transport else ""))
    # Set after load: still there at the end means the page never reloaded.
    page.evaluate("window.__sameDocument = true")


def wait_until_live(page, transport: str) -> None:
    page.wait_for_selector(f'#live-indicator[data-transport="{transport}"][data-state="live"]')


def wait_for_status(page, status: str) -> None:
    page.wait_for_selector(f'[data-status-badge][data-status="{status}"]', timeout=TURN_TIMEOUT_MS)


def shown_rows(page) -> list[tuple[str, int]]:
    return page.eval_on_selector_all(
        ROWS, "rows => rows.map(r => [r.dataset.kind, Number(r.dataset.seq)])"
    )


def assert_every_event_shown_once(page, session_id: str) -> list[tuple[str, int]]:
    """All of the session's events are on the page, each once, in seq order per list."""
    session = Session.objects.get(pk=session_id)
    page.wait_for_function(
        f"n => document.querySelectorAll('{ROWS}').length >= n", arg=session.last_seq
    )
    rows = shown_rows(page)
    seqs = [seq for _, seq in rows]
    assert sorted(seqs) == list(range(1, session.last_seq + 1)), rows
    for kind in ("log", "message"):
        kind_seqs = [seq for k, seq in rows if k == kind]
        assert kind_seqs == sorted(kind_seqs), f"{kind} rows out of order: {kind_seqs}"
    logs = list(CommandLog.objects.filter(session=session).values_list("seq", flat=True))
    assert sorted(seq for kind, seq in rows if kind == "log") == sorted(logs)
    assert page.evaluate("window.__sameDocument") is True
    return rows


def let_the_turn_finish(session_id: str) -> None:
    """A stopped turn ends soon after; let it, before the server and database go away."""
    wait_for(lambda: Session.objects.get(pk=session_id).last_result.get("subtype"), timeout=30)


# --- tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["ws", "sse", "poll"])
def test_tool_calls_appear_live_over_each_transport(page, person, repo_url, transport):
    log_in(page, person)
    session_id = start_session(page, repo_url, "Take your time [scenario:slow]")
    open_live(page, session_id, transport)
    wait_until_live(page, transport)
    assert page.text_content("#live-indicator [data-live-label]") != ""
    assert page.is_visible(".tag-scripted")
    # The first tool call shows while the turn still runs, then the rest, no reload.
    page.wait_for_selector("#command-log li[data-seq]", timeout=TURN_TIMEOUT_MS)
    wait_for_status(page, SessionStatus.COMPLETED)
    rows = assert_every_event_shown_once(page, session_id)
    tools = page.eval_on_selector_all(
        "#command-log [data-slot=tool]", "e => e.map(t => t.textContent)"
    )
    assert tools == ["Bash", "Bash", "Bash"]
    # The last tool call's row, not the end-of-turn separator that follows it.
    results = page.eval_on_selector_all(
        "#command-log li[data-seq] [data-slot=result]", "e => e.map(r => r.textContent)"
    )
    assert "tick 3" in results[-1]
    initial = page.evaluate("JSON.parse(document.getElementById('live-config').textContent)")
    assert initial["lastSeq"] < len(rows), "some rows came live, not with the page"
    stats = page.evaluate("liveClient.stats")
    assert stats["shown"] == len(rows) - initial["lastSeq"]
    assert page.get_attribute("#live-indicator", "data-transport") == transport
    # The totals are refreshed once the turn is over.
    page.wait_for_function("document.querySelector('[data-fact=tokens]').textContent !== '0 / 0'")


@pytest.mark.parametrize("transport", ["ws", "sse", "poll"])
def test_a_dropped_connection_resumes_without_gap_or_duplicate(page, person, repo_url, transport):
    log_in(page, person)
    session_id = start_session(page, repo_url, "[scenario:slow]")
    open_live(page, session_id, transport)
    wait_until_live(page, transport)
    page.wait_for_selector("#command-log li[data-seq]", timeout=TURN_TIMEOUT_MS)
    if transport == "ws":
        # A real close of the browser's socket, as a network drop or a proxy timeout does.
        page.evaluate("liveClient.socket.close()")
    else:
        page.evaluate("liveClient.drop()")
    page.wait_for_function("liveClient.stats.reconnects >= 1")
    wait_until_live(page, transport)
    wait_for_status(page, SessionStatus.COMPLETED)
    assert_every_event_shown_once(page, session_id)


def test_websocket_reconnects_after_a_server_side_drop_mid_turn(page, person, repo_url):
    """Closed twice while the agent writes, including during the catch-up window."""
    log_in(page, person)
    session_id = start_session(page, repo_url, "[scenario:default]")
    open_live(page, session_id, "ws")
    wait_until_live(page, "ws")
    for _ in range(2):
        page.wait_for_function("liveClient.socket && liveClient.socket.readyState === 1")
        page.evaluate("liveClient.socket.close()")
        page.wait_for_timeout(300)
    wait_for_status(page, SessionStatus.COMPLETED)
    assert_every_event_shown_once(page, session_id)
    assert page.evaluate("liveClient.stats.reconnects") >= 2


def test_without_websocket_the_page_falls_back_to_sse_then_polling(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "[scenario:default]")
    open_live(page, session_id)
    wait_until_live(page, "ws")  # the first choice when nothing is forced
    wait_for_status(page, SessionStatus.COMPLETED)
    expected = assert_every_event_shown_once(page, session_id)

    # A proxy that refuses WebSocket upgrades.
    page.add_init_script(
        """window.WebSocket = class {
             constructor() { setTimeout(() => this.onclose && this.onclose({code: 1006}), 20); }
             close() {}
           };"""
    )
    open_live(page, session_id)
    wait_until_live(page, "sse")
    assert shown_rows(page) == expected

    # ... and one that buffers event streams to death.
    page.route("**/stream*", lambda route: route.abort())
    open_live(page, session_id)
    wait_until_live(page, "poll")
    assert shown_rows(page) == expected


def test_session_list_badges_update_without_reload(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "[scenario:default]", name="watched")
    page.goto("/")
    page.evaluate("window.__sameDocument = true")
    row = f'[data-session-id="{session_id}"]'
    assert page.is_visible(f"{row} .tag-scripted")
    assert page.text_content(f"{row} .session-project").strip().endswith(repo_url)
    page.wait_for_selector(
        f'{row} [data-status-badge][data-status="completed"]', timeout=TURN_TIMEOUT_MS
    )
    assert page.text_content(f"{row} [data-status-badge]") == "Completed"
    assert page.evaluate("window.__sameDocument") is True


def test_follow_up_and_stop_from_the_page(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "[scenario:default]")
    open_live(page, session_id)
    wait_for_status(page, SessionStatus.COMPLETED)
    # The send button comes alive when the turn is over, without a reload.
    page.wait_for_selector("[data-follow-up-submit]:not([disabled])")
    page.fill("#id_content", "Now slowly [scenario:slow]")
    page.click("[data-follow-up-submit]")
    page.wait_for_selector("text=Message sent; the session is running again.")
    page.wait_for_selector("#command-log li:nth-child(5)", timeout=TURN_TIMEOUT_MS)
    page.click("button:has-text('Stop session…')")
    page.click("[data-stop-submit]")
    page.wait_for_selector("text=Session stopped.")
    wait_for_status(page, SessionStatus.STOPPED)
    assert not page.is_visible("[data-stop-form]")
    let_the_turn_finish(session_id)
    assert Session.objects.get(pk=session_id).status == SessionStatus.STOPPED
    messages = page.eval_on_selector_all(
        "#conversation .message-user [data-slot=content]", "e => e.map(m => m.textContent)"
    )
    assert messages == ["[scenario:default]", "Now slowly [scenario:slow]"]


def test_tool_output_arriving_live_is_shown_as_text_not_markup(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "[scenario:default]")
    open_live(page, session_id, "poll")
    wait_for_status(page, SessionStatus.COMPLETED)
    # Recorded by this process after the page loaded: polling reads it from the database.
    hostile = '<img src=x onerror="window.__owned = true">'
    services.record_command(
        session=Session.objects.get(pk=session_id),
        tool="<b>Bash</b>",
        input={"command": hostile},
        result=hostile,
        is_error=True,
    )
    row = page.wait_for_selector("#command-log li.log-error", timeout=10_000)
    assert row.text_content().count(hostile) >= 2  # the summary and the output, as text
    assert page.locator("#command-log img, #command-log b").count() == 0
    assert page.evaluate("window.__owned === undefined")
    assert_every_event_shown_once(page, session_id)
