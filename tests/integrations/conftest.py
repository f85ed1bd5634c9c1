"""Fixtures for the integrations: a local HTTP server standing in for the GitHub and GitLab
REST APIs (reached through the integrations' own client at the integration's api_url, as
production reaches the real ones), the published webhook payloads, signing, and an
integration wired to a template and a local git repository."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery import current_app

from integrations import github, services
from templates import services as template_services

# The real agent's fixtures: a repository to clone, settings that run turns in this process.
from tests.sessions.conftest import agent_settings, git_repo  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SECRET = "a-webhook-secret-of-some-length"
TOKEN = "ghp_test_token_for_the_stand_in"


def github_payload(name: str) -> dict:
    folder = FIXTURES / "github-webhooks"
    path = folder / f"{name}.payload.json"
    return json.loads((path if path.exists() else folder / f"{name}.json").read_text())


def gitlab_payload(name: str) -> dict:
    return json.loads((FIXTURES / "gitlab-webhooks" / f"{name}.json").read_text())


@dataclass
class Call:
    method: str
    path: str
    headers: dict
    body: dict


@dataclass
class ProviderStandIn:
    """Answers the calls the integrations make, GitHub's and GitLab's, and records them."""

    calls: list[Call] = field(default_factory=list)
    port: int = 0
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, call: Call) -> tuple[int, dict]:
        if call.method == "GET":
            return 200, {
                "full_name": "Codertocat/Hello-World",
                "path_with_namespace": "gitlabhq/gitlab-test",
            }
        if call.method == "POST":
            with self.lock:
                self.next_id += 1
                number = self.next_id
            if call.path.endswith(("/pulls", "/merge_requests")):
                url = f"https://code.example.com/pull/{number}"
                return 201, {"number": number, "iid": number, "html_url": url, "web_url": url}
            return 201, {"id": number, "body": call.body.get("body", "")}
        return 200, {"id": int(call.path.rsplit("/", 1)[-1]), "body": call.body.get("body", "")}

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {key.lower(): value for key, value in self.headers.items()}
                call = Call(self.command, self.path, headers, json.loads(raw or b"{}"))
                stand_in.calls.append(call)
                status, body = stand_in.answer(call)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = _serve

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def provider_api(settings) -> Iterator[ProviderStandIn]:
    stand_in = ProviderStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), stand_in.handler())
    stand_in.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.INTEGRATION_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.PUBLIC_URL = "https://orchestrator.example.com"
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


REVIEW_CONFIG = {
    "initial_prompt": "Review PR #{pr_number} ({pr_title}) in {repo} on {branch}.",
    "variables": [
        {"name": "pr_number", "required": True},
        {"name": "pr_title", "default": "untitled"},
        {"name": "repo"},
        {"name": "branch"},
    ],
    "project_type": "github",
    "github_repo": "acme/widgets",
    "metadata": {"maxTurns": 5, "autoClose": True},
}
DEBUG_CONFIG = {
    "initial_prompt": "CI failed on {branch}: {job_name}, log at {log_url}. Fix it.",
    "variables": [{"name": "branch"}, {"name": "job_name"}, {"name": "log_url"}],
    "project_type": "github",
    "github_repo": "acme/widgets",
}


@pytest.fixture
def templates(owner) -> dict:
    review = template_services.create_template(
        actor=owner, scope="organization", name="PR review", slug="pr-review", config=REVIEW_CONFIG
    )
    debug = template_services.create_template(
        actor=owner, scope="organization", name="CI debug", slug="ci-debug", config=DEBUG_CONFIG
    )
    return {"review": review, "debug": debug}


def make_integration(owner, api_url: str, clone_url: str, provider: str = "github", **extra):
    fields = {
        "provider": provider,
        "repository": "Codertocat/Hello-World" if provider == "github" else "gitlabhq/gitlab-test",
        "api_url": api_url,
        "clone_url": clone_url,
        "webhook_secret": SECRET,
        "api_token": TOKEN,
        "triggers": {"pull_request": "pr-review", "ci_failure": "ci-debug", "mention": "@claude"},
        **extra,
    }
    return services.create_integration(actor=owner, **fields)


@pytest.fixture
def integration(owner, provider_api, templates, git_repo):  # noqa: F811
    return make_integration(owner, provider_api.url, git_repo)


@pytest.fixture
def gitlab_integration(owner, provider_api, templates, git_repo):  # noqa: F811
    return make_integration(owner, provider_api.url, git_repo, provider="gitlab")


@pytest.fixture
def inline_work(monkeypatch):
    """The integrations' background work run in the test's thread as each commit happens (the
    tests using it are transactional, so commits are real), and the sessions' turns recorded
    instead of run (no agent here: see test_end_to_end)."""
    turns = []
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: turns.append(args))
    monkeypatch.setattr(
        "integrations.dispatch._start",
        lambda name, arguments: current_app.tasks[f"integrations.tasks.{name}"].run(*arguments),
    )
    return turns


def github_headers(event: str, body: bytes, delivery: str, secret: str = SECRET) -> dict:
    return {
        "HTTP_X_GITHUB_EVENT": event,
        "HTTP_X_GITHUB_DELIVERY": delivery,
        "HTTP_X_HUB_SIGNATURE_256": github.signature(secret, body),
    }


def post_github(client, integration, event: str, payload: dict, delivery: str, **headers):
    body = json.dumps(payload).encode()
    all_headers = {**github_headers(event, body, delivery), **headers}
    return client.post(
        f"/api/integrations/github/{integration.pk}/webhook",
        data=body,
        content_type="application/json",
        **all_headers,
    )


def post_gitlab(client, integration, event: str, payload: dict, key: str, token: str = SECRET):
    return client.post(
        f"/api/integrations/gitlab/{integration.pk}/webhook",
        data=json.dumps(payload).encode(),
        content_type="application/json",
        HTTP_X_GITLAB_EVENT=event,
        HTTP_X_GITLAB_TOKEN=token,
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_X_GITLAB_EVENT_UUID=f"uuid-{key}",
    )
