"""Idempotency under real concurrency, on PostgreSQL over real HTTP."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from sessions.models import Session
from tests.conftest import api_token_for
from tests.live_server import running_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BODY = {"name": "burst", "project_type": "github", "github_repo": "acme/widgets"}


def post(url: str, token: str, key: str, body: dict = BODY) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


@pytest.fixture
def endpoint(live_server, member, settings):
    settings.AGENT_DISPATCH = "thread"
    settings.AGENT_EMBEDDED_WORKERS = 1
    # The sessions never run here: nothing claims their turns (no worker is asked to).
    settings.ALLOWED_HOSTS = ["*"]
    return f"{live_server.url}/api/sessions/", api_token_for(member)


def test_fifty_concurrent_posts_with_one_key_create_one_session(member, tmp_path):
    token = api_token_for(member)
    # A real ASGI server process (the test process's live_server has a tiny listen backlog).
    # Its sessions' first turns fail fast on an unreachable repository; that is not the point.
    env = {"GIT_BASE_URL": "https://git.invalid", "AGENT_DISPATCH": "thread"}
    with running_server(tmp_path / "server.log", env=env) as server:
        answers = burst(f"{server.url}/api/sessions/", token, 50)
        changed = post(
            f"{server.url}/api/sessions/", token, "burst-key", {**BODY, "name": "changed"}
        )
    statuses = {status for status, _, _ in answers}
    assert statuses == {201}, statuses
    assert len({body["id"] for _, body, _ in answers}) == 1
    assert sum(1 for *_, headers in answers if headers.get("Idempotent-Replayed")) == 49
    assert Session.objects.count() == 1
    assert changed[0] == 422


def burst(url: str, token: str, count: int) -> list[tuple[int, dict, dict]]:
    start = threading.Barrier(count)

    def one(_):
        start.wait()
        return post(url, token, "burst-key")

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_a_request_still_in_flight_gets_409(endpoint, settings, member, monkeypatch):
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.5
    url, token = endpoint
    # Another transaction holds the key, as a first request that has not finished would.
    params = connection.get_connection_params()
    params = {k: v for k, v in params.items() if k != "cursor_factory"}
    with psycopg.connect(**params) as other, other.cursor() as cursor:
        # As the application's backend does: the row is written in its organization's context.
        cursor.execute(
            "SELECT set_config('app.current_org_id', %s, true)", [str(member.organization_id)]
        )
        cursor.execute(
            "INSERT INTO tenants_idempotencykey (organization_id, user_id, endpoint, key, "
            "fingerprint, response_status, response_body, created_at, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, 0, '{}', now(), %s)",
            [
                member.organization_id,
                member.pk,
                "/api/sessions/",
                "slow-key",
                "f",
                timezone.now() + timedelta(hours=1),
            ],
        )
        status, body, _ = post(url, token, "slow-key")
        other.rollback()
    assert status == 409 and "in progress" in body["detail"]
    assert not Session.objects.exists()
    # Once the first request is gone (rolled back), the key works.
    assert post(url, token, "slow-key")[0] == 201
