"""Compensation, retry-safe turns and the reconciler: failures leave no debris."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import DatabaseError
from django.utils import timezone

from sessions import reconcile
from sessions.agent.runner import run_turn
from sessions.choices import SessionStatus
from sessions.models import CleanupRecord, CommandLog, Session, SessionMessage
from sessions.workspaces.folders import workspace_path
from tests.conftest import new_session
from tests.live_server import database_url
from tests.sessions.conftest import wait_for

BODY = {
    "name": "x",
    "project_type": "github",
    "github_repo": "acme/widgets",
    "initial_prompt": "go",
}


@pytest.mark.django_db(transaction=True)
def test_a_failed_database_write_leaves_nothing(api, member, agent_settings, monkeypatch):
    queued = []
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: queued.append(args))

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(SessionMessage.objects, "create", broken)
    response = api(member).post("/api/sessions/", BODY, format="json")
    assert response.status_code == 503
    assert "nothing was saved" in response.json()["detail"]
    assert not Session.objects.exists()
    assert queued == []  # the turn is queued only after a commit that never happened
    assert not agent_settings.WORKSPACES_DIR.exists() or not any(
        agent_settings.WORKSPACES_DIR.iterdir()
    )


@pytest.mark.django_db(transaction=True)
def test_a_failed_queueing_ends_the_session_in_error(api, member, agent_settings, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    agent_settings.AGENT_DISPATCH = "celery"
    monkeypatch.setattr("sessions.agent.tasks.run_session_turn.apply_async", broker_down)
    response = api(member).post("/api/sessions/", BODY, format="json")
    assert response.status_code == 201
    session = Session.objects.get()
    assert session.status == SessionStatus.ERROR
    assert "Could not queue the turn" in session.status_reason
    assert CleanupRecord.objects.filter(session_id=session.pk, action="session_failed").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
def test_a_failed_clone_removes_the_workspace_and_records_it(api, member, tmp_path, agent_settings):
    agent_settings.GIT_FILE_ROOTS = [tmp_path]
    response = api(member).post(
        "/api/sessions/",
        {**BODY, "github_repo": f"file://{tmp_path}/missing.git"},
        format="json",
    )
    session_id = response.json()["id"]
    session = wait_for(
        lambda: Session.objects.filter(pk=session_id, status="error").first(), timeout=30
    )
    assert not workspace_path(
        organization_id=session.organization_id, session_id=session.pk
    ).exists()
    record = CleanupRecord.objects.get(session_id=session.pk)
    assert record.action == "workspace_removed" and "git" in record.reason


@pytest.mark.django_db(transaction=True)
def test_a_turn_delivered_twice_runs_once(member, agent_settings, git_repo, monkeypatch):
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)
    session = new_session(
        member, name="twice", github_repo=git_repo, initial_prompt="[scenario:bash_write]"
    )
    run_turn(session.pk, session.current_turn, "[scenario:bash_write]")
    run_turn(session.pk, session.current_turn, "[scenario:bash_write]")  # redelivered
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert CommandLog.objects.filter(session=session).count() == 2  # Bash, Write: once


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
def test_a_worker_killed_mid_turn_leaves_no_stuck_session(
    member, agent_settings, git_repo, monkeypatch, tmp_path
):
    """The worker process really dies (SIGKILL) in the middle of a turn; the task's
    redelivery (late acknowledgement) finds the turn claimed and silent, and ends it."""
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)
    session = new_session(
        member, name="killed", github_repo=git_repo, initial_prompt="[scenario:slow]"
    )
    worker = start_turn_process(session, tmp_path)
    try:
        wait_for(lambda: CommandLog.objects.filter(session=session).exists(), timeout=60)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    agent_settings.STUCK_SESSION_AFTER_SECONDS = 0
    run_turn(session.pk, session.current_turn, "[scenario:slow]")  # the redelivery
    session.refresh_from_db()
    assert session.status == SessionStatus.ERROR
    assert "stopped mid-turn" in session.status_reason
    assert CleanupRecord.objects.filter(session_id=session.pk, action="session_failed").exists()


def start_turn_process(session: Session, tmp_path: Path) -> subprocess.Popen:
    """A separate process that runs the session's turn, as a Celery worker would."""
    code = (
        "import django; django.setup(); from sessions.agent.runner import run_turn; "
        f"run_turn('{session.pk}', '{session.current_turn}', '[scenario:slow]')"
    )
    from django.conf import settings

    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": database_url(),
        "DATA_DIR": str(settings.DATA_DIR),
        "GIT_FILE_ROOTS": ",".join(str(root) for root in settings.GIT_FILE_ROOTS),
        "SCRIPTED_MODEL": "1",
        "AGENT_PERMISSION_MODE": "bypassPermissions",
        "AGENT_DISPATCH": "thread",
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
    }
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=(tmp_path / "turn.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the kill takes Claude Code down with it
    )


@pytest.mark.django_db
class TestReconciler:
    def plant(self, member, settings, *, status, heartbeat_ago=None, ended_ago=None):
        session = new_session(member, name=status)
        now = timezone.now()
        Session.objects.filter(pk=session.pk).update(
            status=status,
            heartbeat_at=now - heartbeat_ago if heartbeat_ago is not None else None,
            ended_at=now - ended_ago if ended_ago is not None else None,
        )
        folder = workspace_path(organization_id=session.organization_id, session_id=session.pk)
        folder.mkdir(parents=True)
        (folder / "file.txt").write_text("work")
        return Session.objects.get(pk=session.pk), folder

    def test_fixes_orphans_and_stuck_sessions_and_touches_nothing_healthy(
        self, member, agent_settings
    ):
        settings = agent_settings
        settings.WORKSPACE_RETENTION_HOURS = 1
        settings.STUCK_SESSION_AFTER_SECONDS = 60
        healthy, healthy_dir = self.plant(
            member, settings, status="running", heartbeat_ago=timedelta(seconds=5)
        )
        recent, recent_dir = self.plant(
            member, settings, status="completed", ended_ago=timedelta(minutes=5)
        )
        expired, expired_dir = self.plant(
            member, settings, status="completed", ended_ago=timedelta(hours=2)
        )
        stuck, stuck_dir = self.plant(
            member, settings, status="running", heartbeat_ago=timedelta(minutes=10)
        )
        orphan = settings.WORKSPACES_DIR / str(member.organization_id) / str(uuid.uuid4())
        orphan.mkdir(parents=True)

        dry = reconcile.reconcile(dry_run=True)
        assert orphan.exists() and len(dry.removed_workspaces) == 2

        report = reconcile.reconcile()
        assert sorted(report.removed_workspaces) == sorted([str(orphan), str(expired_dir)])
        assert report.failed_sessions == [str(stuck.pk)]
        assert not orphan.exists() and not expired_dir.exists()
        assert healthy_dir.exists() and recent_dir.exists() and stuck_dir.exists()
        statuses = dict(Session.objects.values_list("name", "status"))
        assert [Session.objects.get(pk=s.pk).status for s in (healthy, recent, stuck)] == [
            "running",
            "completed",
            "error",
        ], statuses
        assert "No live worker" in Session.objects.get(pk=stuck.pk).status_reason
        actions = sorted(CleanupRecord.objects.values_list("action", "actor"))
        assert actions == [
            ("session_failed", "reconciler"),
            ("workspace_removed", "reconciler"),
            ("workspace_removed", "reconciler"),
        ]
        assert reconcile.reconcile().removed_workspaces == []  # nothing left to do

    def test_management_command(self, member, agent_settings, capsys):
        from django.core.management import call_command

        orphan = agent_settings.WORKSPACES_DIR / str(member.organization_id) / str(uuid.uuid4())
        orphan.mkdir(parents=True)
        call_command("reconcile", "--dry-run")
        assert orphan.exists() and "would remove" in capsys.readouterr().out
        call_command("reconcile")
        assert not orphan.exists()


def completed_session(member) -> Session:
    """A managed session whose first turn is done (as the runner would leave it)."""
    session = new_session(member, name="done")
    Session.objects.filter(pk=session.pk).update(status=SessionStatus.COMPLETED)
    return Session.objects.get(pk=session.pk)


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_of_a_follow_up_leaves_the_session_as_it_was(
    api, member, agent_settings, monkeypatch
):
    queued = []
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: queued.append(args))
    session = completed_session(member)
    queued.clear()  # the first turn's

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(SessionMessage.objects, "create", broken)
    response = api(member).post(
        f"/api/sessions/{session.pk}/messages/", {"content": "more"}, format="json"
    )
    assert response.status_code == 503
    session.refresh_from_db()
    assert (session.status, session.last_seq) == (SessionStatus.COMPLETED, 0)
    assert queued == []


@pytest.mark.django_db(transaction=True)
def test_a_follow_up_that_cannot_be_queued_ends_in_error(api, member, agent_settings, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    agent_settings.AGENT_DISPATCH = "celery"
    monkeypatch.setattr("sessions.agent.tasks.run_session_turn.apply_async", broker_down)
    session = completed_session(member)
    response = api(member).post(
        f"/api/sessions/{session.pk}/messages/", {"content": "more"}, format="json"
    )
    assert response.status_code == 202
    session.refresh_from_db()
    assert session.status == SessionStatus.ERROR
    assert "Could not queue the turn" in session.status_reason
    assert CleanupRecord.objects.filter(session_id=session.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_of_a_stop_leaves_the_session_running(api, member, monkeypatch):
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)
    session = completed_session(member)
    Session.objects.filter(pk=session.pk).update(status=SessionStatus.RUNNING)

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Session, "save", broken)
    response = api(member).post(f"/api/sessions/{session.pk}/stop/")
    assert response.status_code == 503
    session.refresh_from_db()
    assert session.status == SessionStatus.RUNNING and session.ended_at is None
