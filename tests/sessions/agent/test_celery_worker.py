"""A real Celery worker, fed through Redis, runs a session's turn against PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from sessions.choices import SessionStatus
from sessions.models import CommandLog, Session
from tests.conftest import celery_worker
from tests.sessions.conftest import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.e2e,
]


@pytest.fixture
def worker(agent_settings, git_repo, tmp_path):
    """`celery worker -Q agents` on the test database; stopped after the test."""
    agent_settings.AGENT_DISPATCH = "celery"
    env = {
        "REDIS_URL": django_settings.REDIS_URL,
        "DATA_DIR": str(agent_settings.DATA_DIR),
        # The test's own repository folder (git_repo sets it here first; fixtures in order).
        "GIT_FILE_ROOTS": ",".join(str(root) for root in agent_settings.GIT_FILE_ROOTS),
        "SCRIPTED_MODEL": "1",
        "AGENT_PERMISSION_MODE": "bypassPermissions",
    }
    with celery_worker("agents", tmp_path / "worker.log", env) as process:
        yield process


def test_a_celery_worker_runs_the_session(api, member, git_repo, worker, tmp_path):
    response = api(member).post(
        "/api/sessions/",
        {
            "name": "celery",
            "project_type": "github",
            "github_repo": git_repo,
            "initial_prompt": "[scenario:bash_write]",
        },
        format="json",
    )
    assert response.status_code == 201
    session_id = response.json()["id"]

    def finished():
        session = Session.objects.get(pk=session_id)
        return session if session.status not in ("preparing", "running") else None

    session = wait_for(finished, timeout=120)
    assert session.status == SessionStatus.COMPLETED, (
        session.status_reason,
        (tmp_path / "worker.log").read_text()[-3000:],
    )
    assert list(
        CommandLog.objects.filter(session=session).order_by("seq").values_list("tool", flat=True)
    ) == ["Bash", "Write"]
    assert (Path(session.project_path) / "result.txt").exists()
