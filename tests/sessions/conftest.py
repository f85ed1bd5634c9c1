"""Fixtures for tests that really run Claude Code: a git repository to work on, settings
that keep every file under the test's tmp folder, and a way to wait for the agent."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sessions.choices import SessionMode
from tests.conftest import new_session

FIXTURES = Path(__file__).parent.parent / "fixtures" / "claude-code-2.1.331"


def captured() -> dict[str, dict]:
    """Hook payloads captured from the pinned Claude Code CLI (2.1.331), by event name."""
    lines = (FIXTURES / "hooks_pre_post_stop.jsonl").read_text().splitlines()
    payloads = [json.loads(line) for line in lines if line.strip()]
    return {p["hook_event_name"]: p for p in payloads}


@pytest.fixture
def attached(member):
    """An attached session of the member's organization."""
    return new_session(member, name="attached", mode=SessionMode.ATTACHED)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def git_repo(tmp_path, settings) -> str:
    """A small repository with two commits; its file:// URL, inside GIT_FILE_ROOTS."""
    settings.GIT_FILE_ROOTS = [(tmp_path / "upstream").resolve()]
    repo = tmp_path / "upstream" / "widgets"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# widgets\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "app.py").write_text("print('hello')\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "second")
    return f"file://{repo}"


@pytest.fixture
def agent_settings(settings, tmp_path):
    """Run turns in this process against the scripted model, files under tmp_path."""
    settings.DATA_DIR = tmp_path / "data"
    settings.WORKSPACES_DIR = tmp_path / "data" / "workspaces"
    settings.AGENT_CONFIG_DIR = tmp_path / "data" / "claude"
    settings.SCRIPTED_MODEL = True
    settings.AGENT_DISPATCH = "thread"
    settings.AGENT_HEARTBEAT_SECONDS = 0.2
    settings.AGENT_PERMISSION_MODE = "bypassPermissions"
    return settings


def wait_for(predicate: Callable[[], object], timeout: float = 60, interval: float = 0.1):
    """Poll until `predicate()` is truthy; its value. Fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {predicate}")
