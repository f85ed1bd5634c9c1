"""End to end: the real Claude Code CLI (from the claude-agent-sdk wheel) against the
scripted model, started through the API, running real tools in a real workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessions.choices import SessionStatus
from sessions.models import CommandLog, Session
from tests.sessions.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def ended(session_id):
    def check():
        session = Session.objects.get(pk=session_id)
        return session if session.status not in ("preparing", "running") else None

    return check


def start(client, repo_url: str, prompt: str, **extra) -> str:
    response = client.post(
        "/api/sessions/",
        {
            "name": "e2e",
            "project_type": "github",
            "github_repo": repo_url,
            "initial_prompt": prompt,
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_session_really_runs_claude_code(api, member, git_repo, agent_settings):
    session_id = start(api(member), git_repo, "Make a result file [scenario:bash_write]")
    session = wait_for(ended(session_id), timeout=90)
    assert session.status == SessionStatus.COMPLETED, session.status_reason
    logs = list(CommandLog.objects.filter(session=session).order_by("seq"))
    assert [log.tool for log in logs] == ["Bash", "Write"]
    bash, write = logs
    assert "command" in bash.input and bash.result and not bash.is_error
    assert write.input["file_path"].endswith("result.txt")
    workspace = Path(session.project_path)
    assert (workspace / "result.txt").exists()
    assert (workspace / "app.py").exists()  # the clone
    assert session.input_tokens > 0 and session.output_tokens > 0
    assert session.total_cost_usd > 0
    assert session.agent_session_id
    assert session.last_result["subtype"] == "success"
    messages = list(session.messages.order_by("seq").values_list("direction", flat=True))
    assert messages[0] == "user" and "assistant" in messages
    # One gap-free sequence across messages and logs.
    seqs = sorted([*session.messages.values_list("seq", flat=True), *[g.seq for g in logs]])
    assert seqs == list(range(1, session.last_seq + 1))


def test_default_permission_mode_runs_allowed_tools(api, member, git_repo, agent_settings):
    agent_settings.AGENT_PERMISSION_MODE = "default"
    session_id = start(api(member), git_repo, "[scenario:bash_write]")
    session = wait_for(ended(session_id), timeout=90)
    assert session.status == SessionStatus.COMPLETED, session.status_reason
    assert (Path(session.project_path) / "result.txt").exists()


def test_follow_up_resumes_the_claude_session(api, member, git_repo, agent_settings):
    client = api(member)
    session_id = start(client, git_repo, "[scenario:bash_write]")
    first = wait_for(ended(session_id), timeout=90)
    assert first.status == SessionStatus.COMPLETED, first.status_reason
    response = client.post(
        f"/api/sessions/{session_id}/messages/",
        {"content": "Again [scenario:fail]"},
        format="json",
    )
    assert response.status_code == 202, response.content
    second = wait_for(ended(session_id), timeout=90)
    assert second.status == SessionStatus.COMPLETED, second.status_reason
    assert second.agent_session_id == first.agent_session_id
    assert second.num_turns > first.num_turns
    failed = CommandLog.objects.filter(session=second, is_error=True)
    assert failed.exists()  # the fail scenario's non-zero Bash, via PostToolUseFailure
    contents = list(second.messages.filter(direction="user").values_list("content", flat=True))
    assert contents == ["[scenario:bash_write]", "Again [scenario:fail]"]


def test_follow_up_while_running_is_409(api, member, git_repo, agent_settings):
    client = api(member)
    session_id = start(client, git_repo, "[scenario:slow]")
    wait_for(lambda: Session.objects.get(pk=session_id).status == "running", timeout=60)
    response = client.post(
        f"/api/sessions/{session_id}/messages/", {"content": "hurry"}, format="json"
    )
    assert response.status_code == 409
    client.post(f"/api/sessions/{session_id}/stop/")
    # Let the interrupted turn finish before the test's database goes away.
    wait_for(lambda: Session.objects.get(pk=session_id).last_result.get("subtype"), timeout=15)


def test_stop_interrupts_a_running_turn(api, member, git_repo, agent_settings):
    client = api(member)
    session_id = start(client, git_repo, "[scenario:slow]")
    wait_for(lambda: CommandLog.objects.filter(session_id=session_id).exists(), timeout=60)
    assert client.post(f"/api/sessions/{session_id}/stop/").status_code == 200
    # The turn ends soon after (the slow scenario would take many seconds more), and the
    # stop stands: a late result does not overwrite it.
    wait_for(lambda: Session.objects.get(pk=session_id).last_result.get("subtype"), timeout=15)
    session = Session.objects.get(pk=session_id)
    assert session.status == SessionStatus.STOPPED
    # The scenario's three sleeps never all ran: the one running was interrupted, and any
    # later one denied (a stopped session's tool calls are refused; with the scripted model
    # the turn may even reach its final text before an interrupt lands).
    assert CommandLog.objects.filter(session=session, is_error=False).count() < 3


def test_max_duration_ends_the_turn_in_error(api, member, git_repo, agent_settings):
    session_id = start(api(member), git_repo, "[scenario:slow]", metadata={"maxDuration": 2})
    session = wait_for(ended(session_id), timeout=30)
    assert session.status == SessionStatus.ERROR
    assert "maxDuration" in session.status_reason


def test_unclonable_repository_ends_in_error_and_leaves_nothing(
    api, member, tmp_path, agent_settings
):
    agent_settings.GIT_FILE_ROOTS = [tmp_path]
    session_id = start(api(member), f"file://{tmp_path}/nowhere.git", "[scenario:bash_write]")
    session = wait_for(ended(session_id), timeout=30)
    assert session.status == SessionStatus.ERROR
    assert "does not appear to be a git repository" in session.status_reason
    assert not any((agent_settings.WORKSPACES_DIR).rglob("*.md"))
    assert not (agent_settings.WORKSPACES_DIR / str(session.organization_id) / session_id).exists()


def test_unreachable_model_ends_in_error(api, member, git_repo, agent_settings):
    agent_settings.SCRIPTED_MODEL_URL = "http://127.0.0.1:9"  # nothing listens there
    agent_settings.AGENT_API_MAX_RETRIES = "1"
    session_id = start(api(member), git_repo, "[scenario:bash_write]", metadata={"maxDuration": 60})
    session = wait_for(ended(session_id), timeout=90)
    assert session.status == SessionStatus.ERROR
    assert "Connection" in session.status_reason or "API Error" in session.status_reason
