"""End to end on the scripted model with the real Claude Code CLI: a pull request opened on
GitHub (its published payload, signed) starts a review session in a real clone of the PR's
branch; the stand-in GitHub API gets the comment linking the session, then, when the turn
ends, the same comment edited with the summary, the files changed, tokens, cost and duration.
A push to the PR then continues that session and edits the comment again. Run once in this
process (thread dispatch) and once through a real Celery worker fed by Redis."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from integrations import services as integration_services
from integrations.models import Delivery, PullRequestThread
from sessions.choices import SessionStatus
from sessions.models import Session
from templates import services as template_services
from tests.conftest import celery_worker
from tests.sessions.conftest import git, wait_for

from .conftest import REVIEW_CONFIG, github_payload, post_github

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def pr_branch(git_repo) -> str:
    """The published payload's head branch (`changes`), in the local repository."""
    git(Path(git_repo.removeprefix("file://")), "branch", "changes")
    return "changes"


def settled() -> bool:
    """No integrations thread of this process is still at work (it would outlive the test)."""
    return not any(t.name.startswith("integrations-") for t in threading.enumerate())


def edits(provider_api, count: int):
    return lambda: provider_api.of("PATCH") if len(provider_api.of("PATCH")) >= count else None


def run_the_pull_request(integration, provider_api, timeout: float) -> None:
    client = Client()
    answer = post_github(
        client, integration, "pull_request", github_payload("pull_request_opened"), "e2e-open"
    )
    assert answer.status_code == 202, answer.content
    (first,) = wait_for(edits(provider_api, 1), timeout=timeout)
    thread = PullRequestThread.objects.get()
    session = Session.objects.get(pk=thread.session_id)
    assert session.status == SessionStatus.COMPLETED, session.status_reason
    (comment,) = provider_api.of("POST")
    assert comment.path == "/repos/Codertocat/Hello-World/issues/2/comments"
    assert f"/sessions/{session.pk}/" in comment.body["body"]
    assert first.path == f"/repos/Codertocat/Hello-World/issues/comments/{thread.comment_id}"
    body = first.body["body"]
    for part in (
        "Done. I created hello.txt",
        "hello.txt (new)",
        "NOTES.md (new)",
        "**Cost**: $",
        "**Tokens**:",
        "**Duration**:",
        "scripted demo model",
    ):
        assert part in body, (part, body)
    assert session.git_ref == "changes"
    # A push to the PR: the same session takes another turn, and the same comment is edited.
    pushed = post_github(
        client, integration, "pull_request", github_payload("pull_request_synchronize"), "e2e-push"
    )
    assert pushed.status_code == 202
    wait_for(edits(provider_api, 2), timeout=timeout)
    assert Session.objects.count() == 1 and len(provider_api.of("POST")) == 1
    assert Delivery.objects.get(delivery_key="e2e-push").session_id == session.pk
    second = provider_api.of("PATCH")[1]
    assert second.path == first.path
    wait_for(settled, timeout=timeout)


def test_a_pull_request_is_reviewed_and_its_comment_edited_with_the_cost(
    integration, provider_api, agent_settings, pr_branch
):
    agent_settings.INTEGRATION_DISPATCH = "thread"
    run_the_pull_request(integration, provider_api, timeout=120)


def test_the_create_pr_option_pushes_a_branch_and_opens_a_pull_request(
    owner, integration, provider_api, agent_settings, pr_branch, git_repo
):
    agent_settings.INTEGRATION_DISPATCH = "thread"
    config = {**REVIEW_CONFIG, "metadata": {"maxTurns": 5, "createPullRequest": True}}
    template_services.create_template(
        actor=owner, scope="organization", name="PR fixer", slug="pr-fix", config=config
    )
    integration_services.update_integration(
        integration=integration, actor=owner, triggers={"pull_request": "pr-fix"}
    )
    answer = post_github(
        Client(), integration, "pull_request", github_payload("pull_request_opened"), "e2e-fix"
    )
    assert answer.status_code == 202
    (edit,) = wait_for(edits(provider_api, 1), timeout=120)
    thread = PullRequestThread.objects.get()
    assert thread.pushed_branch.startswith("claude/pr-2-")
    (opened,) = [c for c in provider_api.of("POST") if c.path.endswith("/pulls")]
    assert opened.path == "/repos/Codertocat/Hello-World/pulls"
    assert (opened.body["head"], opened.body["base"]) == (thread.pushed_branch, "changes")
    assert thread.opened_pull_request in edit.body["body"]
    # The local remote received the branch, with the agent's files in its commit.
    remote = Path(git_repo.removeprefix("file://"))
    files = git(remote, "ls-tree", "-r", "--name-only", thread.pushed_branch).split()
    assert {"NOTES.md", "hello.txt", "README.md", "app.py"} <= set(files)
    assert "NOTES.md" in edit.body["body"]  # the stat is of the turn, before the commit
    wait_for(settled, timeout=60)


@pytest.mark.postgres
@pytest.mark.redis
def test_a_celery_worker_does_the_work(
    integration, provider_api, agent_settings, pr_branch, tmp_path
):
    agent_settings.INTEGRATION_DISPATCH = "celery"
    agent_settings.AGENT_DISPATCH = "celery"
    env = {
        "REDIS_URL": django_settings.REDIS_URL,
        "DATA_DIR": str(agent_settings.DATA_DIR),
        "GIT_FILE_ROOTS": ",".join(str(root) for root in agent_settings.GIT_FILE_ROOTS),
        "SCRIPTED_MODEL": "1",
        "AGENT_PERMISSION_MODE": "bypassPermissions",
        "INTEGRATION_DISPATCH": "celery",
        "INTEGRATION_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "PUBLIC_URL": django_settings.PUBLIC_URL,
    }
    log = tmp_path / "worker.log"
    with celery_worker("default,agents", log, env):
        try:
            run_the_pull_request(integration, provider_api, timeout=180)
        except BaseException:
            print(log.read_text()[-5000:])
            raise
