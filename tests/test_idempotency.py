"""Idempotency keys on creating POSTs (Stripe's semantics)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import Session
from tenants.idempotency import expire_keys
from tenants.models import IdempotencyKey

pytestmark = pytest.mark.django_db

BODY = {"name": "x", "project_type": "github", "github_repo": "acme/widgets"}


def create(client, body=None, key="k-1", **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post("/api/sessions/", body or BODY, format="json", **headers)


def test_a_retry_gets_the_first_answer_back(api, member):
    client = api(member)
    first = create(client)
    again = create(client)
    assert first.status_code == again.status_code == 201
    # The same answer, less the hook token (no secret is kept for replays): a note instead.
    replayed = again.json()
    assert "hook-config" in replayed.pop("hook_token_note")
    assert replayed == {k: v for k, v in first.json().items() if k != "hook_token"}
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Session.objects.count() == 1


def test_the_key_may_come_in_the_body(api, member):
    client = api(member)
    first = create(client, {**BODY, "idempotency_key": "body-key"}, key=None)
    assert first.status_code == 201, first.content
    again = create(client, {**BODY, "idempotency_key": "body-key"}, key=None)
    assert again["Idempotent-Replayed"] == "true"
    assert Session.objects.count() == 1


def test_same_key_with_different_parameters_is_422(api, member):
    client = api(member)
    create(client)
    response = create(client, {**BODY, "name": "other"})
    assert response.status_code == 422
    assert Session.objects.count() == 1


def test_a_request_that_failed_validation_stores_nothing(api, member):
    client = api(member)
    assert create(client, {**BODY, "github_repo": "not a repo"}).status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert create(client).status_code == 201


def test_keys_are_scoped_to_the_user(api, member, owner):
    create(api(member))
    response = create(api(owner))
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Session.objects.count() == 2


def test_an_expired_key_works_anew_and_is_removed(api, member):
    client = api(member)
    create(client)
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = create(client, {**BODY, "name": "after expiry"})
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_keys() == 1
    assert not IdempotencyKey.objects.exists()


def test_stop_and_follow_up_honour_keys(api, member):
    client = api(member)
    session_id = create(client, key=None).json()["id"]
    headers = {"HTTP_IDEMPOTENCY_KEY": "stop-1"}
    first = client.post(f"/api/sessions/{session_id}/stop/", {}, format="json", **headers)
    again = client.post(f"/api/sessions/{session_id}/stop/", {}, format="json", **headers)
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"  # not a 409 "already ended"


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_bad_key_is_400(api, member, key):
    response = create(api(member), key=None, HTTP_IDEMPOTENCY_KEY=key or " ")
    assert response.status_code == 400
    assert not Session.objects.exists()
