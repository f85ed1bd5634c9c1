"""One continuing session per pull request: the first trigger starts it from the template
(with the PR's variables) and comments a link to it; later pushes, failures and mentions are
follow-ups to that session (waiting for a running turn to end), never new sessions; each
turn's end edits the same comment with the summary, files, tokens, cost and duration."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from integrations import services
from integrations.models import Delivery, PullRequestThread
from sessions import services as session_services
from sessions.choices import SessionStatus
from sessions.models import Session
from templates import services as template_services
from templates.models import TemplateLaunch

from .conftest import github_payload, gitlab_payload, post_github, post_gitlab

pytestmark = pytest.mark.django_db(transaction=True)

TURN = {
    "summary": "Looks good; one nit in README.md.",
    "diff_stat": " README.md | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)",
    "input_tokens": 1200,
    "output_tokens": 340,
    "cost_usd": "0.0421",
    "duration_ms": 5300,
}


def opened(client, integration, delivery="d-open"):
    answer = post_github(
        client, integration, "pull_request", github_payload("pull_request_opened"), delivery
    )
    assert answer.status_code == 202, answer.content
    return Delivery.objects.get(delivery_key=delivery)


def end_turn(session: Session) -> None:
    session.refresh_from_db()
    session_services.transition_session(session=session, to=SessionStatus.RUNNING)
    session_services.transition_session(session=session, to=SessionStatus.COMPLETED)


def test_the_first_event_starts_a_session_from_the_template_and_links_it(
    integration, provider_api, inline_work, git_repo
):
    delivery = opened(Client(), integration)
    assert delivery.outcome == "started"
    thread = PullRequestThread.objects.get()
    session = thread.session
    assert delivery.session_id == session.pk
    assert (thread.number, thread.branch) == (2, "changes")
    assert session.github_repo == git_repo and session.git_ref == "changes"
    assert session.created_by == integration.created_by
    prompt = session.messages.get().content
    assert prompt == (
        "Review PR #2 (Update the README with new information.) in Codertocat/Hello-World "
        "on changes."
    )
    assert "autoClose" not in session.metadata  # it continues with every later event
    assert TemplateLaunch.objects.get(session=session).template.slug == "pr-review"
    assert len(inline_work) == 1  # its first turn was queued
    (comment,) = provider_api.of("POST")
    assert comment.path == "/repos/Codertocat/Hello-World/issues/2/comments"
    assert comment.headers["authorization"] == "Bearer ghp_test_token_for_the_stand_in"
    assert f"https://orchestrator.example.com/sessions/{session.pk}/" in comment.body["body"]
    assert thread.comment_id == "1001"


def test_later_events_on_the_pull_request_continue_the_same_session(integration, inline_work):
    client = Client()
    opened(client, integration)
    thread = PullRequestThread.objects.get()
    end_turn(thread.session)
    pushed = post_github(
        client, integration, "pull_request", github_payload("pull_request_synchronize"), "d-push"
    )
    assert pushed.status_code == 202
    delivery = Delivery.objects.get(delivery_key="d-push")
    assert (delivery.outcome, delivery.session_id) == ("continued", thread.session_id)
    assert Session.objects.count() == 1
    assert (
        "New commits were pushed to #2" in thread.session.messages.order_by("-seq").first().content
    )
    assert len(inline_work) == 2  # a second turn of the same session


def test_events_during_a_turn_wait_for_it_and_go_as_one_message(
    integration, provider_api, inline_work
):
    client = Client()
    opened(client, integration)
    thread = PullRequestThread.objects.get()
    session = thread.session  # preparing: its first turn has not ended
    run = github_payload("workflow_run_completed.with-pull-requests")
    run["workflow_run"]["conclusion"] = "failure"
    run["repository"]["full_name"] = "Codertocat/Hello-World"
    post_github(client, integration, "workflow_run", run, "d-ci")
    comment = github_payload("issue_comment_created")
    comment["issue"].update({"number": 2, "pull_request": {"url": "https://example/pulls/2"}})
    comment["comment"]["body"] = "@claude please also check the docs"
    post_github(client, integration, "issue_comment", comment, "d-mention")
    waiting = Delivery.objects.filter(outcome="waiting").order_by("received_at")
    assert [d.delivery_key for d in waiting] == ["d-ci", "d-mention"]
    thread.refresh_from_db()
    assert len(thread.pending) == 2 and Session.objects.count() == 1
    # The turn ends: what waited is sent as one follow-up, and the comment is edited.
    end_turn(session)
    services.finish_turn(thread_id=thread.pk, turn=TURN)
    thread.refresh_from_db()
    assert thread.pending == []
    follow_up = session.messages.order_by("-seq").first().content
    assert "CI failed on master" in follow_up and "please also check the docs" in follow_up
    assert len(inline_work) == 2


def test_each_turn_edits_the_same_comment_with_summary_files_tokens_cost_and_duration(
    integration, provider_api, inline_work
):
    opened(Client(), integration)
    thread = PullRequestThread.objects.get()
    end_turn(thread.session)
    services.finish_turn(thread_id=thread.pk, turn=TURN)
    services.finish_turn(thread_id=thread.pk, turn={**TURN, "summary": "Second turn."})
    assert len(provider_api.of("POST")) == 1
    edits = provider_api.of("PATCH")
    assert [e.path for e in edits] == ["/repos/Codertocat/Hello-World/issues/comments/1001"] * 2
    body = edits[0].body["body"]
    for part in (
        "Looks good; one nit in README.md.",
        "README.md | 2 +-",
        "1,200 in, 340 out",
        "$0.0421",
        "5.3 s",
        f"/sessions/{thread.session_id}/",
    ):
        assert part in body, part
    assert "Second turn." in edits[1].body["body"]


def test_a_pull_request_whose_session_failed_gets_a_new_one(integration, inline_work):
    client = Client()
    opened(client, integration)
    first = PullRequestThread.objects.get().session
    session_services.fail_session(session=first, reason="clone failed")
    post_github(
        client, integration, "pull_request", github_payload("pull_request_reopened"), "d-re"
    )
    thread = PullRequestThread.objects.get()
    assert thread.session_id != first.pk and Session.objects.count() == 2


def test_a_trigger_without_a_template_starts_nothing(owner, integration, inline_work):
    services.update_integration(
        integration=integration, actor=owner, triggers={"pull_request": None}
    )
    delivery = opened(Client(), integration)
    assert delivery.outcome == "ignored" and "no template" in delivery.detail
    assert not Session.objects.exists()


def test_a_launch_the_template_refuses_is_a_failed_delivery_with_the_reason(
    owner, integration, inline_work
):
    config = {"initial_prompt": "Fix {ticket}", "variables": [{"name": "ticket", "required": True}]}
    template_services.create_template(
        actor=owner, scope="organization", name="Ticket", slug="ticket", config=config
    )
    services.update_integration(
        integration=integration, actor=owner, triggers={"pull_request": "ticket"}
    )
    delivery = opened(Client(), integration)
    assert delivery.outcome == "failed"
    assert "ticket: required by this template" in delivery.detail
    assert not Session.objects.exists() and not PullRequestThread.objects.exists()


def test_a_clone_url_the_source_rules_refuse_is_a_400_naming_it(owner, integration):
    with pytest.raises(ValidationError) as refused:
        services.update_integration(
            integration=integration, actor=owner, clone_url="ssh://git@example.com/x.git"
        )
    assert "clone_url" in refused.value.message_dict


def test_a_gitlab_merge_request_gets_a_note_and_its_pipeline_failure_follows_up(
    gitlab_integration, provider_api, inline_work
):
    client = Client()
    post_gitlab(
        client, gitlab_integration, "Merge Request Hook", gitlab_payload("merge_request_open"), "k1"
    )
    thread = PullRequestThread.objects.get()
    (note,) = provider_api.of("POST")
    assert note.path == "/projects/gitlabhq%2Fgitlab-test/merge_requests/1/notes"
    assert note.headers["private-token"] == "ghp_test_token_for_the_stand_in"
    end_turn(thread.session)
    pipeline = gitlab_payload("pipeline_failed")
    pipeline["project"]["path_with_namespace"] = "gitlabhq/gitlab-test"
    answer = post_gitlab(client, gitlab_integration, "Pipeline Hook", pipeline, "k2")
    assert answer.status_code == 202
    assert Delivery.objects.get(delivery_key="k2").outcome == "continued"
    assert "test-image" in thread.session.messages.order_by("-seq").first().content
    services.finish_turn(thread_id=thread.pk, turn=TURN)
    (edit,) = provider_api.of("PUT")
    assert edit.path == "/projects/gitlabhq%2Fgitlab-test/merge_requests/1/notes/1001"


def test_a_redelivery_runs_the_trigger_again(owner, integration, api, inline_work):
    delivery = opened(Client(), integration)
    end_turn(PullRequestThread.objects.get().session)
    answer = api(owner).post(
        f"/api/integrations/{integration.pk}/deliveries/{delivery.pk}/redeliver/"
    )
    assert answer.status_code == 202, answer.content
    again = Delivery.objects.get(pk=answer.json()["id"])
    assert (again.outcome, again.session_id) == ("continued", delivery.session_id)


def test_the_comment_is_not_made_when_the_api_refuses_and_the_reason_is_kept(
    owner, integration, provider_api, inline_work
):
    provider_api.answer = lambda call: (401, {"message": "Bad credentials"})
    opened(Client(), integration)
    thread = PullRequestThread.objects.get()
    assert thread.comment_id == ""
    assert "401" in thread.comment_error and "Bad credentials" in thread.comment_error
    json.dumps(thread.comment_error)  # storable as shown
