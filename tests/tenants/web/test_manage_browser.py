"""The members page in a real browser (Debian's chromium, Playwright) against the app
served by daphne: an admin adds a member and changes their role; the pages fit a phone."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tenants.choices import AuditAction, Role
from tenants.models import AuditEvent, User
from tests.conftest import PASSWORD
from tests.sessions.web.test_dashboard_browser import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def admin(org) -> User:
    """An admin whose password the server can check (PBKDF2, few iterations)."""
    user = User(username="ada", organization=org, role=Role.ADMIN)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "browser-tests", iterations=1000)
    user.save()
    return user


def fits_the_width(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_an_admin_adds_a_member_and_changes_their_role(page, admin):
    log_in(page, admin)
    page.click("nav.topnav >> text=Members")
    page.wait_for_url(re.compile(r"/org/members/$"))
    page.fill("#id_username", "grace")
    page.select_option("#id_role", "user")
    page.check("input[name=method][value=password]")
    page.click("button:has-text('Add member')")
    password = page.text_content("[data-one-time-password]").strip()
    grace = User.objects.get(username="grace")
    # The server hashes with its own hasher (this suite's fast MD5 one does not apply there).
    assert PBKDF2PasswordHasher().verify(password, grace.password)
    assert grace.role == Role.USER

    page.click("text=Done")
    page.wait_for_url(re.compile(r"/org/members/grace/$"))
    page.select_option("#id_role", "viewer")
    page.click("button:has-text('Change role')")
    page.wait_for_selector(".flash-success:has-text('grace is now viewer')")
    assert page.text_content("[data-role]").strip() == "viewer"
    grace.refresh_from_db()
    assert grace.role == Role.VIEWER
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_ROLE_CHANGED).count() == 1

    # The last admin is kept, with the reason on the page.
    page.goto("/org/members/ada/")
    page.select_option("#id_role", "user")
    page.click("button:has-text('Change role')")
    page.wait_for_selector(".flash-error:has-text('last active admin')")
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_the_pages_fit_a_phone(page, admin):
    log_in(page, admin)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/org/members/", "/org/members/ada/", "/org/settings/", "/org/audit/"):
        page.goto(path)
        assert fits_the_width(page), path
