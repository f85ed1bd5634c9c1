from __future__ import annotations

import pytest

from tenants.models import Organization, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_is_issued_for_the_right_password(api, member):
    response = api(None).post(
        "/api/auth/token/", {"username": "member", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = api(None)
    me.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert me.get("/api/sessions/").status_code == 200


def test_wrong_password_is_401(api, member):
    response = api(None).post(
        "/api/auth/token/", {"username": "member", "password": "nope"}, format="json"
    )
    assert response.status_code == 401


def test_token_request_missing_fields_is_400(api, db):
    response = api(None).post("/api/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


@pytest.mark.parametrize("header", [None, "Token not-a-real-token", "Bearer abc"])
def test_missing_or_bad_credentials_are_401(api, db, header):
    client = api(None)
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/sessions/").status_code == 401


def test_superuser_creates_organization(api, superuser):
    response = api(superuser).post(
        "/api/organizations/", {"name": "Initech", "slug": "initech"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Organization.objects.filter(slug="initech").exists()


def test_org_admin_cannot_create_organization(api, owner):
    response = api(owner).post(
        "/api/organizations/", {"name": "Initech", "slug": "initech"}, format="json"
    )
    assert response.status_code == 403
    assert not Organization.objects.filter(slug="initech").exists()


def test_duplicate_slug_is_400(api, superuser, org):
    response = api(superuser).post(
        "/api/organizations/", {"name": "Again", "slug": "acme"}, format="json"
    )
    assert response.status_code == 400
    assert "slug" in response.json()


def test_unknown_field_is_400_and_nothing_written(api, superuser):
    response = api(superuser).post(
        "/api/organizations/", {"name": "X", "slug": "x", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"colour": ["Unknown field."]}
    assert not Organization.objects.filter(slug="x").exists()


def test_member_sees_own_organization(api, member, org):
    response = api(member).get("/api/organizations/acme/")
    assert response.status_code == 200
    assert response.json()["name"] == "Acme"


def test_outsider_gets_404_for_another_organization(api, outsider, org):
    assert api(outsider).get("/api/organizations/acme/").status_code == 404


def test_org_admin_adds_user_to_own_organization(api, owner, org):
    response = api(owner).post(
        "/api/organizations/acme/users/",
        {"username": "newbie", "password": "a-long-enough-pass", "role": "viewer"},
        format="json",
    )
    assert response.status_code == 201, response.content
    user = User.objects.get(username="newbie")
    assert (user.organization, user.role) == (org, "viewer")
    assert "password" not in response.json()


def test_member_cannot_add_users(api, member, org):
    response = api(member).post(
        "/api/organizations/acme/users/",
        {"username": "newbie", "password": "a-long-enough-pass"},
        format="json",
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="newbie").exists()


def test_outsider_admin_cannot_add_users_to_another_org(api, outsider, org):
    response = api(outsider).post(
        "/api/organizations/acme/users/",
        {"username": "spy", "password": "a-long-enough-pass"},
        format="json",
    )
    assert response.status_code == 404
    assert not User.objects.filter(username="spy").exists()


def test_superuser_adds_user_to_any_org(api, superuser, org):
    response = api(superuser).post(
        "/api/organizations/acme/users/",
        {"username": "boss", "password": "a-long-enough-pass", "role": "admin"},
        format="json",
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "member", "password": "a-long-enough-pass"}, "username"),
        ({"username": "weak", "password": "password"}, "password"),
        ({"username": "bad role", "password": "a-long-enough-pass"}, "username"),
        ({"username": "r", "password": "a-long-enough-pass", "role": "god"}, "role"),
    ],
)
def test_bad_user_input_is_400_with_field(api, owner, member, body, field):
    before = User.objects.count()
    response = api(owner).post("/api/organizations/acme/users/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.count() == before


def test_malformed_json_is_400(api, superuser):
    response = api(superuser).post(
        "/api/organizations/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
