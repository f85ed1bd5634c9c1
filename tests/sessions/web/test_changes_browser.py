"""The Files changed tab in a real browser: a real session (the Claude Code CLI against the
scripted model's `changes_demo` scenario) edits, adds and deletes files; the tab lists them
with their diffs, and the download is a valid archive of the workspace."""

from __future__ import annotations

import io
import tarfile

import pytest

from sessions.choices import SessionStatus
from tests.screenshots import save
from tests.sessions.web.test_dashboard_browser import (
    TURN_TIMEOUT_MS,
    log_in,
    open_live,
    start_session,
    wait_for_status,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

CHANGE = "#changes li.change"


def listed(on_page) -> dict[str, str]:
    return dict(
        on_page.eval_on_selector_all(
            CHANGE, "rows => rows.map(r => [r.dataset.path, r.dataset.status])"
        )
    )


def opened(row):
    """Opens a file's row; its diff is drawn on the (asynchronous) toggle event."""
    row.locator("summary").click()
    row.locator(".diff").wait_for()


def test_files_changed_tab_lists_the_sessions_changes_with_diffs(page, person, repo_url):
    log_in(page, person)
    session_id = start_session(page, repo_url, "Tidy up [scenario:changes_demo]", name="changes")
    open_live(page, session_id)
    assert page.is_visible("#activity") and not page.is_visible("#changes")
    page.click("a[href='#changes']")
    # A tab: the activity makes room, and the address keeps the open tab.
    assert page.is_visible("#changes") and not page.is_visible("#activity")
    assert page.url.endswith("#changes")
    assert page.get_attribute("#tab-changes", "aria-selected") == "true"
    # Refreshed by itself when the turn ends: no reload, no click on Refresh.
    wait_for_status(page, SessionStatus.COMPLETED)
    page.wait_for_function(
        "document.querySelectorAll('#changes li.change').length === 5", timeout=TURN_TIMEOUT_MS
    )

    assert listed(page) == {
        "README.md": "deleted",
        "app.py": "modified",
        "docs/guide.md": "added",
        "logo.bin": "added",
        "passwd-link": "added",
    }
    summary = page.text_content("[data-changes-summary]")
    assert (
        "5 files changed" in summary
        and "3 added" in summary
        and "1 modified" in summary
        and "1 deleted" in summary
    )

    app = page.locator(f"{CHANGE}[data-path='app.py']")
    assert app.locator(".change-add").text_content() == "+2"
    assert app.locator(".change-del").text_content() == "−1"
    opened(app)
    added = app.locator(".diff-add").all_text_contents()
    assert "+print('hello, world')\n" in added and "+print('bye')\n" in added
    assert "-print('hello')\n" in app.locator(".diff-del").all_text_contents()

    guide = page.locator(f"{CHANGE}[data-path='docs/guide.md']")
    opened(guide)
    assert "+# Guide\n" in guide.locator(".diff-add").all_text_contents()

    logo = page.locator(f"{CHANGE}[data-path='logo.bin']")
    assert "binary, 4 bytes" in logo.text_content()
    logo.locator("summary").click()
    logo.locator(".change-body p").wait_for()
    assert "Binary file (4 bytes)" in logo.text_content()
    assert logo.locator(".diff").count() == 0

    link = page.locator(f"{CHANGE}[data-path='passwd-link']")
    assert link.locator(".change-link").text_content() == "link"
    opened(link)
    assert "+/etc/passwd\n" in link.locator(".diff-add").all_text_contents()
    assert "root:" not in page.text_content("#changes")
    save(page, "session-files-changed")

    with page.expect_download() as download_info:
        page.click("[data-changes-download]")
    download = download_info.value
    assert download.suggested_filename.endswith(".tar.gz")
    with tarfile.open(fileobj=io.BytesIO(open(download.path(), "rb").read()), mode="r:gz") as tar:
        names = tar.getnames()
        top = names[0]
        assert f"{top}/app.py" in names and f"{top}/docs/guide.md" in names
        assert f"{top}/README.md" not in names
        assert (
            tar.extractfile(f"{top}/docs/guide.md").read() == b"# Guide\n\nRun `python app.py`.\n"
        )
        assert tar.getmember(f"{top}/passwd-link").issym()
        assert not any(name.startswith(f"{top}/.git/") for name in names)
    # A reload (or a shared link) opens the same tab.
    page.reload()
    page.wait_for_selector("#changes li.change")
    assert not page.is_visible("#activity")
