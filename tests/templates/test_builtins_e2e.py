"""End to end: every built-in template launched through the API on the scripted model, with
the real Claude Code CLI working in a real clone, under the template's own agent settings
and its auto-close: a follow-up is refused for those that close after their first turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessions.choices import SessionStatus
from sessions.models import CommandLog, Session
from templates.builtins import BUILTINS
from templates.models import TemplateLaunch
from tests.sessions.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

# What a launch must give beyond the source (repo and branch come from it).
REQUIRED = {"code-review": {"pr_number": 7}}


def ended(session_id):
    def check():
        session = Session.objects.get(pk=session_id)
        return session if session.status not in ("preparing", "running") else None

    return check


@pytest.mark.parametrize("slug", [builtin["slug"] for builtin in BUILTINS])
def test_every_builtin_runs_on_the_scripted_model(
    api, member, git_repo, agent_settings, builtins, slug
):
    client = api(member)
    answer = client.post(
        "/api/sessions/from-template",
        {"template": slug, "github_repo": git_repo, "variables": REQUIRED.get(slug, {})},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    session = wait_for(ended(answer.json()["id"]), timeout=120)
    assert session.status == SessionStatus.COMPLETED, session.status_reason
    launch = TemplateLaunch.objects.get(session=session)
    config = launch.version.config
    assert (launch.template.slug, launch.version.number) == (slug, 1)
    assert session.metadata == config["metadata"]
    first = session.messages.order_by("seq").first()
    assert first.direction == "user" and git_repo in first.content and "{repo}" not in first.content
    tools = [log.tool for log in CommandLog.objects.filter(session=session).order_by("seq")]
    assert tools == ["Bash", "Write", "Edit", "Read"]  # the scenario, in the real clone
    assert (Path(session.project_path) / "app.py").exists()
    follow_up = client.post(
        f"/api/sessions/{session.pk}/messages/", {"content": "more"}, format="json"
    )
    if config["metadata"].get("autoClose"):
        assert follow_up.status_code == 409
        assert "closes after its first turn" in follow_up.json()["detail"]
        assert Session.objects.get(pk=session.pk).status == SessionStatus.COMPLETED
    else:
        assert follow_up.status_code == 202
        wait_for(ended(session.pk), timeout=120)
