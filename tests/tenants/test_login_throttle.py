"""Login throttling on all three login routes: after LOGIN_FAILURE_LIMIT failures for a
username, or from an address, even the right password answers 429 with Retry-After, and
the HTML forms say why."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 5


@pytest.fixture(autouse=True)
def throttle(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def token_login(username: str, password: str, address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(
        "/api/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )


def form_login(path: str, username: str, password: str, address: str = "10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    client.get(path)  # the form sets the CSRF cookie; the test client does not enforce it
    return client.post(path, {"username": username, "password": password})


def test_forty_wrong_passwords_then_the_right_one_is_429_on_the_token_route(member, settings):
    for _ in range(LIMIT - 1):
        assert token_login("member", "wrong").status_code == 401
    for _ in range(40 - LIMIT + 1):
        assert token_login("member", "wrong").status_code in (401, 429)
    answer = token_login("member", PASSWORD)
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Too many failed log-ins" in answer.json()["detail"]
    assert "token" not in answer.json()


def test_the_limit_is_per_username_across_addresses(member, viewer):
    for n in range(LIMIT):
        token_login("member", "wrong", address=f"10.0.1.{n}")
    assert token_login("member", PASSWORD, address="10.0.2.1").status_code == 429
    # Another user from one of those addresses is not locked by the username's failures.
    assert token_login("viewer", PASSWORD, address="10.0.2.1").status_code == 200


def test_the_limit_is_per_address_across_usernames(member):
    for n in range(LIMIT):
        token_login(f"someone-{n}", "wrong", address="10.0.3.1")
    assert token_login("member", PASSWORD, address="10.0.3.1").status_code == 429
    assert token_login("member", PASSWORD, address="10.0.3.2").status_code == 200


def test_a_success_before_the_limit_starts_the_count_again(member):
    for _ in range(LIMIT - 1):
        token_login("member", "wrong")
    assert token_login("member", PASSWORD).status_code == 200
    for _ in range(LIMIT - 1):
        token_login("member", "wrong")
    assert token_login("member", PASSWORD).status_code == 200


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_html_login_forms_say_why_with_a_429(member, superuser, path, settings):
    username = "root" if path.startswith("/admin/") else "member"
    for _ in range(LIMIT - 1):
        assert form_login(path, username, "wrong").status_code == 200  # the form, with errors
    assert form_login(path, username, "wrong").status_code == 429  # the one that locks
    answer = form_login(path, username, PASSWORD)
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    page = answer.content.decode()
    assert "Too many failed log-ins" in page
    assert 'name="password"' in page  # the form is still there, to try again later
    assert "sessionid" not in answer.cookies


def test_behind_trusted_proxies_the_forwarded_address_counts(member, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(LIMIT):
        Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=f"1.2.3.4, 172.16.0.{n}").post(
            "/api/auth/token/",
            {"username": f"guess-{n}", "password": "wrong"},
            content_type="application/json",
        )
    locked = Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="172.16.0.1").post(
        "/api/auth/token/",
        {"username": "member", "password": PASSWORD},
        content_type="application/json",
    )
    # Each guess came from its own forwarded address: none of them reached the limit.
    assert locked.status_code == 200
