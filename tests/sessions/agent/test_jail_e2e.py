"""The agent's jail, end to end: the real Claude Code CLI, on the scripted model, runs a Bash
call that tries every way out we know of. Jailed, it finds nothing beyond its workspace;
with the jail off, the same probe finds it all (so the test can fail)."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from sessions.choices import SessionStatus
from sessions.ingest import ingest
from sessions.models import CommandLog
from sessions.workspaces.agent_state import agent_state_path
from tests.sessions.agent.test_runner_e2e import ended, start
from tests.sessions.conftest import git, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

CANARY = f"canary-{uuid.uuid4().hex}"


@pytest.fixture
def neighbour_process():
    """Another process on the host, as the server is, with a secret in its environment."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"],
        env={"ORCHESTRATOR_CANARY": CANARY, "PATH": "/usr/bin:/bin"},
    )
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def loopback_service():
    """A service listening on the host's loopback, as PostgreSQL and Redis do."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def targets(agent_settings, outsider, loopback_service) -> dict[str, str]:
    """What the agent must not reach, made real on disk."""
    other_session = uuid.uuid4()
    workspaces = agent_settings.WORKSPACES_DIR
    other_workspace = (
        agent_settings.WORKSPACES_DIR / str(outsider.organization_id) / str(other_session)
    )
    other_workspace.mkdir(parents=True)
    (other_workspace / "secret.txt").write_text(f"other organization's code {CANARY}\n")
    other_state = (
        agent_settings.AGENT_CONFIG_DIR / str(outsider.organization_id) / str(other_session)
    )
    other_state.mkdir(parents=True)
    (other_state / "transcript.jsonl").write_text(f"other organization's transcript {CANARY}\n")
    found = {
        "another organization's workspace": str(other_workspace / "secret.txt"),
        "another workspace by ../..": f"../../{other_workspace.relative_to(workspaces)}/secret.txt",
        "another session's Claude state": str(other_state / "transcript.jsonl"),
        "DATA_DIR": str(agent_settings.DATA_DIR),
        "the project's source": str(Path(settings.BASE_DIR) / "orchestrator" / "settings.py"),
        "a loopback service": f"tcp:{loopback_service}",
    }
    if connection.vendor == "sqlite":
        found["the database file"] = connection.settings_dict["NAME"]
    return found


@pytest.fixture
def escape_repo(tmp_path, targets, agent_settings) -> str:
    agent_settings.GIT_FILE_ROOTS = [(tmp_path / "upstream").resolve()]
    repo = tmp_path / "upstream" / "escape"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "escape-targets.txt").write_text("".join(f"{t}\n" for t in targets.values()))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "targets")
    return f"file://{repo}"


def probe(api, member, escape_repo):
    session_id = start(api(member), escape_repo, "Look around [scenario:escape]")
    session = wait_for(ended(session_id), timeout=90)
    assert session.status == SessionStatus.COMPLETED, session.status_reason
    bash = CommandLog.objects.get(session=session, tool="Bash")
    return session, bash.result


@pytest.mark.bubblewrap
def test_the_jailed_agent_reaches_only_its_workspace(
    api, member, agent_settings, escape_repo, targets, neighbour_process
):
    agent_settings.AGENT_SANDBOX = "required"
    session, output = probe(api, member, escape_repo)
    for name, target in targets.items():
        assert f"HIDDEN {target}" in output, f"{name} is visible: {output}"
    assert CANARY not in output
    environ = output.split("ENVIRON", 1)[1].split("PROCESSES", 1)[0]
    assert environ.strip() == "", f"the server's environment leaked: {environ}"
    assert int(output.rsplit("PROCESSES", 1)[1]) < 10  # the jail's own processes only
    # Its own workspace is its to read and write.
    assert (Path(session.project_path) / "jail-note.txt").read_text() == (
        "written inside the workspace\n"
    )
    assert not session.unsandboxed


def test_unjailed_the_same_probe_finds_them(
    api, member, agent_settings, escape_repo, targets, neighbour_process
):
    agent_settings.AGENT_SANDBOX = "off"
    session, output = probe(api, member, escape_repo)
    for name, target in targets.items():
        assert f"SEEN {target}" in output, f"{name} not found unjailed: {output}"
    assert f"ORCHESTRATOR_CANARY={CANARY}" in output  # the neighbour's environment
    assert session.unsandboxed


def test_a_resume_id_is_only_what_the_runner_learned(
    api, member, outsider, git_repo, agent_settings
):
    """Naming another organization's Claude session changes nothing: the follow-up resumes
    this session's own conversation, from its own state folder."""
    theirs = wait_for(ended(start(api(outsider), git_repo, "[scenario:fail]")), timeout=90)
    ours = wait_for(ended(start(api(member), git_repo, "[scenario:bash_write]")), timeout=90)
    assert ours.status == theirs.status == SessionStatus.COMPLETED
    stolen = {
        "hook_event_name": "PreToolUse",
        "session_id": theirs.agent_session_id,
        "tool_name": "Bash",
        "tool_input": {"command": "true"},
    }
    # Over HTTP a managed session takes no hook posts at all...
    response = api(None).post(
        "/api/hooks/", stolen, format="json", HTTP_AUTHORIZATION=f"Bearer {ours.pk.hex}.x"
    )
    assert response.status_code == 403
    # ...and even in-process, a hook payload's session id is not a resume id.
    ingest(session=ours, payload=stolen)
    ours.refresh_from_db()
    assert ours.agent_session_id != theirs.agent_session_id

    logs_before = CommandLog.objects.filter(session=ours).count()
    follow_up = api(member).post(
        f"/api/sessions/{ours.pk}/messages/", {"content": "Again, please."}, format="json"
    )
    assert follow_up.status_code == 202, follow_up.content
    again = wait_for(ended(str(ours.pk)), timeout=90)
    assert again.status == SessionStatus.COMPLETED, again.status_reason
    assert again.agent_session_id == ours.agent_session_id
    # The scripted model plays the scenario named in the conversation it was given: its own
    # ([scenario:bash_write]: Bash, Write), not theirs ([scenario:fail]: a failing Bash).
    new_logs = CommandLog.objects.filter(session=ours).order_by("seq")[logs_before:]
    assert [(log.tool, log.is_error) for log in new_logs] == [("Bash", False), ("Write", False)]
    state = agent_state_path(organization_id=ours.organization_id, session_id=ours.pk)
    assert list(state.rglob(f"{ours.agent_session_id}.jsonl"))  # its transcript, its folder
    other = agent_state_path(organization_id=theirs.organization_id, session_id=theirs.pk)
    assert not list(other.rglob(f"{ours.agent_session_id}.jsonl"))


def test_without_bubblewrap_auto_runs_and_labels_the_session_unsandboxed(
    api, member, git_repo, agent_settings, web
):
    agent_settings.AGENT_SANDBOX = "auto"
    agent_settings.AGENT_BWRAP = "/nonexistent/bwrap"
    session = wait_for(ended(start(api(member), git_repo, "[scenario:bash_write]")), timeout=90)
    assert session.status == SessionStatus.COMPLETED, session.status_reason
    assert session.unsandboxed
    assert api(member).get(f"/api/sessions/{session.pk}/").json()["unsandboxed"] is True
    page = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert "tag-unsandboxed" in page


def test_without_bubblewrap_required_refuses_the_turn(api, member, git_repo, agent_settings):
    agent_settings.AGENT_SANDBOX = "required"
    agent_settings.AGENT_BWRAP = "/nonexistent/bwrap"
    session = wait_for(ended(start(api(member), git_repo, "[scenario:bash_write]")), timeout=90)
    assert session.status == SessionStatus.ERROR
    assert "AGENT_SANDBOX=required" in session.status_reason
    assert "bubblewrap" in session.status_reason
    assert not CommandLog.objects.filter(session=session).exists()
    assert not session.unsandboxed
