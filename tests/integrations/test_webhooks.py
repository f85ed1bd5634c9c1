"""The webhook endpoints, driven by GitHub's published and GitLab's documented payloads:
signatures checked in constant time, deliveries deduped, events read by one handler per
event, and the answer given before any work is done."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from integrations import github, gitlab, services
from integrations.events import mentions
from integrations.models import Delivery, PullRequestThread
from tests.test_hostile_input import HOSTILE_BODIES

from .conftest import (
    SECRET,
    github_headers,
    github_payload,
    gitlab_payload,
    post_github,
    post_gitlab,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_signature_matches_githubs_documented_test_vector():
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github.signature("It's a Secret to Everybody", b"Hello, World!") == expected
    headers = {"HTTP_X_HUB_SIGNATURE_256": expected}
    assert github.verify("It's a Secret to Everybody", headers, b"Hello, World!")
    assert not github.verify("It's a Secret to Everybody", headers, b"Hello, World?")
    assert not github.verify("another secret", headers, b"Hello, World!")


def test_a_ping_is_answered_pong_and_logged(integration):
    answer = post_github(Client(), integration, "ping", github_payload("ping_payload"), "d-ping")
    assert answer.status_code == 200
    assert answer.json()["detail"] == "pong"
    assert Delivery.objects.get(delivery_key="d-ping").outcome == "ping"


def test_a_forged_delivery_is_refused_and_logged_without_acting(integration, inline_work):
    body = json.dumps(github_payload("pull_request_opened")).encode()
    headers = github_headers("pull_request", body, "d-forged", secret="not-the-secret-at-all")
    answer = Client().post(
        f"/api/integrations/github/{integration.pk}/webhook",
        data=body,
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 401
    assert "signature" in answer.json()["detail"]
    delivery = Delivery.objects.get(delivery_key="d-forged")
    assert (delivery.signature_ok, delivery.outcome) == (False, "refused")
    assert not PullRequestThread.objects.exists() and inline_work == []


def test_an_unsigned_delivery_is_refused(integration):
    answer = Client().post(
        f"/api/integrations/github/{integration.pk}/webhook",
        data=b"{}",
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="pull_request",
    )
    assert answer.status_code == 401


def test_an_unknown_integration_answers_like_a_bad_signature(integration):
    body = json.dumps(github_payload("ping_payload")).encode()
    answer = Client().post(
        f"/api/integrations/github/{uuid.uuid4()}/webhook",
        data=body,
        content_type="application/json",
        **github_headers("ping", body, "d-1"),
    )
    assert answer.status_code == 401
    # A GitHub integration's id on the GitLab endpoint is no integration there either.
    assert post_gitlab(Client(), integration, "Merge Request Hook", {}, "k").status_code == 401


def test_a_replayed_delivery_is_answered_already_handled(integration, inline_work):
    payload = github_payload("pull_request_opened")
    first = post_github(Client(), integration, "pull_request", payload, "d-same")
    again = post_github(Client(), integration, "pull_request", payload, "d-same")
    assert first.status_code == 202
    assert again.status_code == 200
    assert "already handled" in again.json()["detail"]
    assert Delivery.objects.filter(delivery_key="d-same").count() == 1
    assert len(inline_work) == 1  # one session, one turn


def test_an_unsupported_event_is_a_202_that_says_so(integration):
    answer = post_github(Client(), integration, "star", {"action": "created"}, "d-star")
    assert answer.status_code == 202
    assert "Unsupported event 'star'" in answer.json()["detail"]
    assert Delivery.objects.get(delivery_key="d-star").outcome == "unsupported"


def test_a_closed_pull_request_is_ignored(integration, inline_work):
    payload = github_payload("pull_request_closed")
    answer = post_github(Client(), integration, "pull_request", payload, "d-closed")
    assert answer.status_code == 202
    assert "only opened, reopened and synchronize" in answer.json()["detail"]
    assert not PullRequestThread.objects.exists()


def test_an_event_for_another_repository_is_ignored(integration, inline_work):
    payload = github_payload("pull_request_opened")
    payload["repository"]["full_name"] = "someone/else"
    answer = post_github(Client(), integration, "pull_request", payload, "d-other")
    assert answer.status_code == 202
    assert "someone/else" in answer.json()["detail"]
    assert not PullRequestThread.objects.exists()


@pytest.mark.parametrize(
    "body,words",
    [
        (b'{"action": "opened", "number": "\\u0000"}', "NUL"),
        (b'{"action": "\\ud800"}', "surrogate"),
        (b"[" * 100 + b"]" * 100, "nested deeper"),
        (b"not json", "not JSON"),
    ],
)
def test_hostile_bodies_are_a_400_naming_the_problem(integration, body, words):
    answer = Client().post(
        f"/api/integrations/github/{integration.pk}/webhook",
        data=body,
        content_type="application/json",
        **github_headers("pull_request", body, f"d-{words}"),
    )
    assert answer.status_code == 400
    assert words in answer.json()["detail"]
    assert not Delivery.objects.filter(signature_ok=True).exists()


@pytest.mark.parametrize("label", HOSTILE_BODIES)
def test_the_shared_hostile_bodies_are_a_400(integration, label):
    body = HOSTILE_BODIES[label]
    answer = Client().post(
        f"/api/integrations/github/{integration.pk}/webhook",
        data=body,
        content_type="application/json",
        **github_headers("pull_request", body, f"d-{label}"),
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["detail"].startswith("body:")


def test_a_disabled_integration_records_but_does_nothing(owner, integration, inline_work):
    services.update_integration(integration=integration, actor=owner, enabled=False)
    answer = post_github(
        Client(), integration, "pull_request", github_payload("pull_request_opened"), "d-off"
    )
    assert answer.status_code == 202
    assert answer.json()["detail"] == "The integration is disabled."
    assert not PullRequestThread.objects.exists()


def test_gitlab_checks_its_token_in_constant_time_and_dedupes_by_idempotency_key(
    gitlab_integration, inline_work
):
    payload = gitlab_payload("merge_request_open")
    wrong = post_gitlab(
        Client(), gitlab_integration, "Merge Request Hook", payload, "k1", token="nope"
    )
    assert wrong.status_code == 401
    first = post_gitlab(Client(), gitlab_integration, "Merge Request Hook", payload, "k1")
    again = post_gitlab(Client(), gitlab_integration, "Merge Request Hook", payload, "k1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert Delivery.objects.filter(signature_ok=True).count() == 1
    assert gitlab.verify(SECRET, {"HTTP_X_GITLAB_TOKEN": SECRET}, b"")
    assert not gitlab.verify(SECRET, {}, b"")


def test_gitlab_dedupes_by_event_uuid_without_an_idempotency_key(gitlab_integration, inline_work):
    payload = json.dumps(gitlab_payload("merge_request_open")).encode()
    for expected in (202, 200):
        answer = Client().post(
            f"/api/integrations/gitlab/{gitlab_integration.pk}/webhook",
            data=payload,
            content_type="application/json",
            HTTP_X_GITLAB_EVENT="Merge Request Hook",
            HTTP_X_GITLAB_TOKEN=SECRET,
            HTTP_X_GITLAB_EVENT_UUID="13792a34-cac6-4fda-95a8-c58e00a3954e",
        )
        assert answer.status_code == expected


def test_gitlab_events_are_read_from_the_documented_payloads(gitlab_integration):
    merge_request = gitlab.on_merge_request(
        gitlab_integration, gitlab_payload("merge_request_open")
    )
    assert (merge_request.kind, merge_request.number, merge_request.branch) == (
        "pull_request",
        1,
        "ms-viewport",
    )
    pipeline = gitlab.on_pipeline(gitlab_integration, gitlab_payload("pipeline_failed"))
    assert (pipeline.kind, pipeline.number, pipeline.job_name) == ("ci_failure", 1, "test-image")
    assert pipeline.log_url == "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/377"
    note = gitlab_payload("note_merge_request")
    assert isinstance(gitlab.on_note(gitlab_integration, note), gitlab.Ignored)
    note["object_attributes"]["note"] = "@claude please look at the failing test"
    mention = gitlab.on_note(gitlab_integration, note)
    assert (mention.kind, mention.number, mention.author) == ("mention", 1, "root")


def test_github_events_are_read_from_the_published_payloads(integration):
    opened = github.on_pull_request(integration, github_payload("pull_request_opened"))
    assert (opened.number, opened.branch, opened.title) == (
        2,
        "changes",
        "Update the README with new information.",
    )
    run = github_payload("workflow_run_completed.with-pull-requests")
    assert isinstance(github.on_workflow_run(integration, run), github.Ignored)  # a success
    run["workflow_run"]["conclusion"] = "failure"
    failed = github.on_workflow_run(integration, run)
    assert (failed.kind, failed.number, failed.log_url) == (
        "ci_failure",
        2,
        "https://github.com/octo-org/octo-repo/actions/runs/289782451",
    )
    comment = github_payload("issue_comment_created")
    assert isinstance(github.on_issue_comment(integration, comment), github.Ignored)  # an issue


@pytest.mark.parametrize(
    "body,mentioned",
    [
        ("@claude fix it", True),
        ("hey @Claude, look", True),
        ("@claudette", False),
        ("claude", False),
    ],
)
def test_a_mention_is_the_handle_as_a_word(body, mentioned):
    assert mentions(body, "@claude") is mentioned
