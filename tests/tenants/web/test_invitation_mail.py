"""An invitation travels as real mail: Django's SMTP backend, pointed by EMAIL_HOST and
EMAIL_PORT (as production is) at an SMTP server started by the test (aiosmtpd), and its
link lets the new member set a password, once."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tenants.choices import AuditAction
from tenants.models import AuditEvent, User
from tests.live_server import free_port

pytestmark = pytest.mark.django_db


def invite(web, owner, capture) -> None:
    with capture(execute=True):
        answer = web(owner).post(
            "/org/members/add/",
            {
                "username": "newbie",
                "email": "newbie@example.com",
                "role": "user",
                "method": "invite",
            },
        )
    assert answer.status_code == 302


def link_in(message) -> str:
    body = message.get_payload(decode=True).decode()
    return re.search(r"http://testserver(/org/invite/\S+/)", body).group(1)


def test_the_invited_member_sets_a_password_through_the_mailed_link(
    smtp, web, owner, django_capture_on_commit_callbacks
):
    invite(web, owner, django_capture_on_commit_callbacks)
    [message] = smtp.messages
    assert message["To"] == "newbie@example.com"
    assert message["From"] == "orchestrator@example.com"
    assert "Acme" in message["Subject"]
    path = link_in(message)

    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200 and b"Welcome, newbie" in page.content
    mismatch = browser.post(path, {"password": "a-long-passphrase-1", "confirm": "other"})
    assert mismatch.status_code == 400
    weak = browser.post(path, {"password": "password", "confirm": "password"})
    assert weak.status_code == 400 and b"too common" in weak.content
    done = browser.post(path, {"password": "a-long-passphrase-1", "confirm": "a-long-passphrase-1"})
    assert done.status_code == 302 and done["Location"] == "/"
    assert browser.get("/").status_code == 200  # logged in
    assert User.objects.get(username="newbie").check_password("a-long-passphrase-1")
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_INVITE_ACCEPTED).count() == 1

    # The link worked once.
    again = Client().get(path)
    assert again.status_code == 400 and b"no longer works" in again.content


def test_a_tampered_link_is_refused(smtp, web, owner, django_capture_on_commit_callbacks):
    invite(web, owner, django_capture_on_commit_callbacks)
    path = link_in(smtp.messages[0])
    assert Client().get(path[:-3] + "xx/").status_code == 400
    assert Client().get("/org/invite/!!/nonsense/").status_code == 400


def test_a_deactivated_invitees_link_stops_working(
    smtp, web, owner, django_capture_on_commit_callbacks
):
    invite(web, owner, django_capture_on_commit_callbacks)
    web(owner).post("/org/members/newbie/deactivate/")
    assert Client().get(link_in(smtp.messages[0])).status_code == 400


def test_an_admin_sends_a_new_link(smtp, web, owner, django_capture_on_commit_callbacks):
    invite(web, owner, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        web(owner).post("/org/members/newbie/invite/")
    assert len(smtp.messages) == 2
    assert Client().get(link_in(smtp.messages[1])).status_code == 200


def test_an_unreachable_mail_server_leaves_the_member_to_be_invited_again(
    settings, web, owner, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    invite(web, owner, django_capture_on_commit_callbacks)
    assert User.objects.filter(username="newbie").exists()
