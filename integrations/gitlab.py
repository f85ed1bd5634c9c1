"""GitLab's webhooks: the shared secret (X-Gitlab-Token, compared in constant time), the
dedupe key (Idempotency-Key, stable across retries, else X-Gitlab-Event-UUID) and one handler
per event (X-Gitlab-Event), in one dict."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from .choices import TriggerKind
from .events import Ignored, Trigger, mentions, number, text

TOKEN_HEADER = "HTTP_X_GITLAB_TOKEN"
EVENT_HEADER = "HTTP_X_GITLAB_EVENT"
MR_ACTIONS = {"open", "reopen", "update"}


def verify(secret: str, headers, body: bytes) -> bool:
    # Digests first: compare_digest leaks nothing about the secret's length either.
    given = hashlib.sha256(headers.get(TOKEN_HEADER, "").encode("utf-8", "replace")).digest()
    return hmac.compare_digest(hashlib.sha256(secret.encode()).digest(), given)


def delivery_key(headers) -> str:
    return (headers.get("HTTP_IDEMPOTENCY_KEY") or headers.get("HTTP_X_GITLAB_EVENT_UUID", ""))[
        :100
    ]


def event_of(headers) -> str:
    return headers.get(EVENT_HEADER, "")[:100]


def _object(payload: dict, key: str) -> dict:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def repository_of(payload: dict) -> str:
    return text(_object(payload, "project").get("path_with_namespace"), 300)


def on_merge_request(integration, payload: dict) -> Trigger | Ignored:
    attributes = _object(payload, "object_attributes")
    action = text(attributes.get("action"))
    if action not in MR_ACTIONS:
        return Ignored(
            f"merge request {action or 'without an action'}: only open, reopen and "
            "update start or continue a session."
        )
    if action == "update" and not attributes.get("oldrev"):
        return Ignored("merge request update without new commits (a title or label change).")
    found = number(attributes.get("iid"))
    if not found:
        return Ignored("merge request without an iid.")
    return Trigger(
        kind=TriggerKind.PULL_REQUEST,
        number=found,
        title=text(attributes.get("title"), 500),
        branch=text(attributes.get("source_branch"), 255),
        url=text(attributes.get("url"), 500),
    )


def on_pipeline(integration, payload: dict) -> Trigger | Ignored:
    attributes = _object(payload, "object_attributes")
    status = text(attributes.get("status"))
    if status != "failed":
        return Ignored(
            f"pipeline {status or 'without a status'}: only a failed one starts a debug session."
        )
    merge_request = _object(payload, "merge_request")
    found = number(merge_request.get("iid"))
    if not found:
        return Ignored("The failed pipeline belongs to no merge request.")
    builds = [b for b in payload.get("builds") or [] if isinstance(b, dict)]
    failed = next((b for b in builds if b.get("status") == "failed"), {})
    project = _object(payload, "project")
    log_url = ""
    if failed.get("id") and text(project.get("web_url")):
        log_url = f"{text(project.get('web_url'))}/-/jobs/{number(failed.get('id'))}"
    return Trigger(
        kind=TriggerKind.CI_FAILURE,
        number=found,
        title=text(merge_request.get("title"), 500),
        branch=text(attributes.get("ref"), 255),
        job_name=text(failed.get("name"), 500),
        log_url=log_url or text(attributes.get("url"), 500),
    )


def on_note(integration, payload: dict) -> Trigger | Ignored:
    attributes = _object(payload, "object_attributes")
    if text(attributes.get("noteable_type")) != "MergeRequest":
        return Ignored("A comment on something other than a merge request.")
    if text(attributes.get("action")) not in ("", "create"):
        return Ignored("Only new comments are read.")
    body = text(attributes.get("note"))
    if not mentions(body, integration.mention_handle):
        return Ignored(f"The comment does not mention {integration.mention_handle or 'a handle'}.")
    merge_request = _object(payload, "merge_request")
    return Trigger(
        kind=TriggerKind.MENTION,
        number=number(merge_request.get("iid")),
        title=text(merge_request.get("title"), 500),
        branch=text(merge_request.get("source_branch"), 255),
        comment=body,
        author=text(_object(payload, "user").get("username"), 100),
    )


HANDLERS: dict[str, Callable[[object, dict], Trigger | Ignored]] = {
    "Merge Request Hook": on_merge_request,
    "Pipeline Hook": on_pipeline,
    "Note Hook": on_note,
}
