"""GitHub's webhooks: the signature (X-Hub-Signature-256, HMAC-SHA256 of the raw body), the
dedupe key (X-GitHub-Delivery) and one handler per event (X-GitHub-Event), in one dict."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from .choices import TriggerKind
from .events import Ignored, Trigger, mentions, number, text

SIGNATURE_HEADER = "HTTP_X_HUB_SIGNATURE_256"
EVENT_HEADER = "HTTP_X_GITHUB_EVENT"
PING = "ping"
PR_ACTIONS = {"opened", "reopened", "synchronize"}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, headers, body: bytes) -> bool:
    """Constant time: the expected signature is always computed and compared."""
    given = headers.get(SIGNATURE_HEADER, "")
    return hmac.compare_digest(signature(secret, body).encode(), given.encode("utf-8", "replace"))


def delivery_key(headers) -> str:
    return headers.get("HTTP_X_GITHUB_DELIVERY", "")[:100]


def event_of(headers) -> str:
    return headers.get(EVENT_HEADER, "")[:100]


def repository_of(payload: dict) -> str:
    repository = payload.get("repository")
    return text(repository.get("full_name"), 300) if isinstance(repository, dict) else ""


def on_pull_request(integration, payload: dict) -> Trigger | Ignored:
    action = text(payload.get("action"))
    if action not in PR_ACTIONS:
        return Ignored(
            f"pull_request {action or 'without an action'}: only opened, reopened "
            "and synchronize start or continue a session."
        )
    pull = payload.get("pull_request") if isinstance(payload.get("pull_request"), dict) else {}
    head = pull.get("head") if isinstance(pull.get("head"), dict) else {}
    found = number(payload.get("number")) or number(pull.get("number"))
    if not found:
        return Ignored("pull_request without a number.")
    return Trigger(
        kind=TriggerKind.PULL_REQUEST,
        number=found,
        title=text(pull.get("title"), 500),
        branch=text(head.get("ref"), 255),
        url=text(pull.get("html_url"), 500),
    )


def on_workflow_run(integration, payload: dict) -> Trigger | Ignored:
    run = payload.get("workflow_run") if isinstance(payload.get("workflow_run"), dict) else {}
    action, conclusion = text(payload.get("action")), text(run.get("conclusion"))
    if action != "completed" or conclusion != "failure":
        return Ignored(
            f"workflow_run {action} ({conclusion or 'no conclusion'}): only a "
            "completed run that failed starts a debug session."
        )
    pulls = [p for p in run.get("pull_requests") or [] if isinstance(p, dict)]
    found = number(pulls[0].get("number")) if pulls else 0
    if not found:
        return Ignored("The failed run belongs to no pull request of this repository.")
    return Trigger(
        kind=TriggerKind.CI_FAILURE,
        number=found,
        branch=text(run.get("head_branch"), 255),
        job_name=text(run.get("name"), 500),
        log_url=text(run.get("html_url"), 500),
    )


def on_issue_comment(integration, payload: dict) -> Trigger | Ignored:
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
    comment = payload.get("comment") if isinstance(payload.get("comment"), dict) else {}
    if text(payload.get("action")) != "created":
        return Ignored("Only new comments are read.")
    if not isinstance(issue.get("pull_request"), dict):
        return Ignored("A comment on an issue, not on a pull request.")
    body = text(comment.get("body"))
    if not mentions(body, integration.mention_handle):
        return Ignored(f"The comment does not mention {integration.mention_handle or 'a handle'}.")
    user = comment.get("user") if isinstance(comment.get("user"), dict) else {}
    return Trigger(
        kind=TriggerKind.MENTION,
        number=number(issue.get("number")),
        title=text(issue.get("title"), 500),
        comment=body,
        author=text(user.get("login"), 100),
    )


HANDLERS: dict[str, Callable[[object, dict], Trigger | Ignored]] = {
    "pull_request": on_pull_request,
    "workflow_run": on_workflow_run,
    "issue_comment": on_issue_comment,
}
