"""API tokens at rest and over their life: stored hashed, shown once, expiring, revocable;
listed and revoked by their holder and their organization's admins. No secret in an
idempotency record either."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from tenants.models import ApiToken, IdempotencyKey
from tests.conftest import PASSWORD, api_token_for, owner_sql

pytestmark = pytest.mark.django_db


def login(api, username: str, **extra):
    return api(None).post(
        "/api/auth/token/", {"username": username, "password": PASSWORD, **extra}, format="json"
    )


def with_token(api, token: str):
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_is_shown_once_and_only_its_digest_is_stored(api, member):
    answer = login(api, "member", name="laptop")
    assert answer.status_code == 200
    token = answer.json()["token"]
    row = ApiToken.objects.get(pk=answer.json()["id"])
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert row.name == "laptop" and row.user == member
    stored = [str(v) for v in ApiToken.objects.filter(pk=row.pk).values().first().values()]
    assert all(token not in value for value in stored)
    assert token.startswith(row.prefix)
    assert with_token(api, token).get("/api/sessions/").status_code == 200
    listed = with_token(api, token).get("/api/auth/tokens/").json()["results"]
    assert [t["prefix"] for t in listed] == [row.prefix]
    assert "token" not in listed[0] and "digest" not in listed[0]


def test_each_login_issues_a_new_token_expiring_after_the_ttl(api, member, settings):
    settings.API_TOKEN_TTL_DAYS = 7
    first, second = login(api, "member").json(), login(api, "member").json()
    assert first["token"] != second["token"]
    row = ApiToken.objects.get(pk=first["id"])
    assert timedelta(days=6, hours=23) < row.expires_at - timezone.now() <= timedelta(days=7)
    custom = login(api, "member", expires_in_days=1).json()
    assert ApiToken.objects.get(pk=custom["id"]).expires_at < timezone.now() + timedelta(days=1)


def test_an_expired_token_is_refused(api, member):
    token = api_token_for(member)
    assert with_token(api, token).get("/api/sessions/").status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = with_token(api, token).get("/api/sessions/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_revoked_token_is_refused_and_kept_as_a_record(api, member):
    token = api_token_for(member)
    row = ApiToken.objects.get()
    assert with_token(api, token).delete(f"/api/auth/tokens/{row.pk}/").status_code == 204
    assert with_token(api, token).get("/api/sessions/").status_code == 401
    row.refresh_from_db()
    assert row.revoked_at is not None


def test_users_manage_their_own_tokens_and_admins_their_organizations(api, owner, member, outsider):
    member_token = api_token_for(member)
    owner_row = ApiToken.objects.get(pk=login(api, "owner").json()["id"])
    member_row = ApiToken.objects.get(user=member)
    outsider_row = ApiToken.objects.get(pk=login(api, "outsider").json()["id"])

    mine = {
        t["id"] for t in with_token(api, member_token).get("/api/auth/tokens/").json()["results"]
    }
    assert mine == {str(member_row.pk)}
    org = {t["id"] for t in api(owner).get("/api/auth/tokens/").json()["results"]}
    assert {str(member_row.pk), str(owner_row.pk)} <= org
    assert str(outsider_row.pk) not in org

    member_client = with_token(api, member_token)
    assert member_client.delete(f"/api/auth/tokens/{owner_row.pk}/").status_code == 404
    assert api(outsider).delete(f"/api/auth/tokens/{member_row.pk}/").status_code == 404
    assert api(owner).delete(f"/api/auth/tokens/{member_row.pk}/").status_code == 204
    assert member_client.get("/api/sessions/").status_code == 401
    owner_row.refresh_from_db()
    assert owner_row.revoked_at is None


@pytest.mark.django_db(transaction=True)
def test_tokens_kept_in_clear_before_are_hashed_by_the_migration(api, member):
    import importlib

    migration = importlib.import_module("tenants.migrations.0004_api_tokens")
    legacy = "0123456789abcdef0123456789abcdef01234567"
    # Tables are the owner's to create and drop (the application role may not, in CI).
    owner_sql(
        "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id bigint, "
        "created timestamp)"
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO authtoken_token (key, user_id) VALUES (%s, %s)", [legacy, member.pk]
            )
        # The data step only reads the editor's connection (a real editor cannot open inside
        # the test's transaction on SQLite).
        migration.hash_legacy_tokens(apps, SimpleNamespace(connection=connection))
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM authtoken_token")
            assert cursor.fetchone()[0] == 0
    finally:
        owner_sql("DROP TABLE authtoken_token")
    assert with_token(api, legacy).get("/api/sessions/").status_code == 200
    assert ApiToken.objects.get().digest == hashlib.sha256(legacy.encode()).hexdigest()


def test_an_idempotent_session_creation_keeps_no_hook_token(api, member):
    client = api(member)
    body = {"name": "a", "project_type": "github", "github_repo": "acme/w", "mode": "attached"}
    first = client.post("/api/sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY="once")
    assert first.status_code == 201 and first.json()["hook_token"]
    record = IdempotencyKey.objects.get()
    assert "hook_token" not in record.response_body
    assert first.json()["hook_token"] not in str(record.response_body)
    replay = client.post("/api/sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY="once")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert "hook_token" not in replay.json()
    assert "hook-config" in replay.json()["hook_token_note"]
    assert replay.json()["id"] == first.json()["id"]
