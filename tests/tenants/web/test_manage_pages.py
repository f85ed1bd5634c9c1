"""The organization management pages (/org/members/, /org/settings/, /org/audit/): who may
open and change what, the last admin, deactivation ending a dashboard session."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from sessions.choices import SessionMode
from tenants.choices import AuditAction, Role
from tenants.models import ApiToken, AuditEvent, User
from tests.conftest import api_token_for, new_session

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/org/members/", "/org/members/owner/", "/org/audit/"]


@pytest.mark.parametrize("path", [*ADMIN_PAGES, "/org/settings/"])
def test_admins_open_every_page(web, owner, path):
    answer = web(owner).get(path)
    assert answer.status_code == 200
    assert b'name="viewport"' in answer.content


@pytest.mark.parametrize("persona", ["member", "viewer"])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_members_and_viewers_get_a_403_on_admin_pages(request, web, owner, persona, path):
    assert web(request.getfixturevalue(persona)).get(path).status_code == 403


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_read_the_settings_but_cannot_change_them(request, web, owner, persona, org):
    client = web(request.getfixturevalue(persona))
    page = client.get("/org/settings/")
    assert page.status_code == 200 and b"Only the organization" in page.content
    assert b"Save settings" not in page.content
    posted = client.post("/org/settings/", {"name": "Hijacked", "session_visibility": "own"})
    assert posted.status_code == 403
    assert client.post("/org/settings/git-credential/", {"token": "t"}).status_code == 403
    org.refresh_from_db()
    assert org.name == "Acme"


def test_anonymous_is_sent_to_log_in(web):
    answer = web(None).get("/org/members/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_another_organizations_member_is_a_404(web, owner, outsider):
    assert web(outsider).get("/org/members/owner/").status_code == 404
    answer = web(outsider).post("/org/members/owner/deactivate/")
    assert answer.status_code == 404
    assert User.objects.get(username="owner").is_active


@pytest.mark.parametrize("path", [*ADMIN_PAGES[:1], ADMIN_PAGES[2], "/org/settings/"])
def test_superusers_without_an_organization_get_a_clear_page(web, superuser, path):
    answer = web(superuser).get(path)
    assert answer.status_code == 200 and b"belong to no organization" in answer.content


def test_every_form_carries_a_csrf_token(owner, member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    for path in ["/org/members/", f"/org/members/{member.username}/", "/org/settings/"]:
        html = client.get(path).content.decode()
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
        assert forms and all("csrfmiddlewaretoken" in form for form in forms), path
    assert client.post("/org/members/member/deactivate/").status_code == 403
    assert User.objects.get(username="member").is_active


def test_the_nav_links_show_for_admins_only(web, owner, member):
    admin_page = web(owner).get("/").content
    assert b'href="/org/members/"' in admin_page and b'href="/org/audit/"' in admin_page
    member_page = web(member).get("/").content
    assert b'href="/org/members/"' not in member_page and b'href="/org/settings/"' in member_page


def test_adding_a_member_with_a_one_time_password_shows_it_once(web, owner):
    answer = web(owner).post(
        "/org/members/add/", {"username": "newbie", "role": "viewer", "method": "password"}
    )
    assert answer.status_code == 200
    password = re.search(rb"data-one-time-password>([^<]+)<", answer.content).group(1).decode()
    newbie = User.objects.get(username="newbie")
    assert newbie.check_password(password) and newbie.role == Role.VIEWER
    assert password.encode() not in web(owner).get("/org/members/newbie/").content
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_ADDED).count() == 1


def test_a_bad_add_shows_why_and_writes_nothing(web, owner, member):
    taken = web(owner).post(
        "/org/members/add/", {"username": "member", "role": "user", "method": "password"}
    )
    assert taken.status_code == 400 and b"This username is taken" in taken.content
    no_email = web(owner).post(
        "/org/members/add/", {"username": "x", "role": "user", "method": "invite"}
    )
    assert no_email.status_code == 400 and b"needs an email" in no_email.content
    assert not User.objects.filter(username="x").exists()


def test_changing_a_role_on_the_dashboard(web, owner, member):
    answer = web(owner).post("/org/members/member/role/", {"role": "admin"}, follow=True)
    assert answer.status_code == 200 and b"member is now admin" in answer.content
    member.refresh_from_db()
    assert member.role == Role.ADMIN


def test_the_last_admin_is_kept_with_a_clear_message(web, owner):
    client = web(owner)
    demoted = client.post("/org/members/owner/role/", {"role": "viewer"}, follow=True)
    assert b"last active admin" in demoted.content
    off = client.post("/org/members/owner/deactivate/", follow=True)
    assert b"last active admin" in off.content
    owner.refresh_from_db()
    assert owner.role == Role.ADMIN and owner.is_active


def test_an_admin_who_steps_down_is_sent_back_to_the_sessions(web, owner, member):
    client = web(owner)
    client.post("/org/members/member/role/", {"role": "admin"})
    answer = client.post("/org/members/owner/role/", {"role": "user"})
    assert answer.status_code == 302 and answer["Location"] == "/"


def test_deactivation_ends_the_members_dashboard_session_and_tokens(web, owner, member):
    theirs = web(member)
    assert theirs.get("/").status_code == 200
    token = api_token_for(member)
    web(owner).post("/org/members/member/deactivate/")
    answer = theirs.get("/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")
    assert ApiToken.objects.get(prefix=token[:11]).revoked_at is not None
    web(owner).post("/org/members/member/reactivate/")
    member.refresh_from_db()
    assert member.is_active


def test_admins_list_and_revoke_a_members_tokens(web, owner, member):
    api_token_for(member)
    row = ApiToken.objects.get(user=member)
    page = web(owner).get("/org/members/member/")
    assert row.prefix.encode() in page.content
    web(owner).post(f"/org/members/member/tokens/{row.pk}/revoke/")
    row.refresh_from_db()
    assert row.revoked_at is not None


def test_a_token_of_another_member_is_not_revoked_through_this_one(web, owner, member, viewer):
    api_token_for(viewer)
    row = ApiToken.objects.get(user=viewer)
    web(owner).post(f"/org/members/member/tokens/{row.pk}/revoke/")
    row.refresh_from_db()
    assert row.revoked_at is None


def test_settings_saved_from_the_page_are_applied_and_audited(web, owner, member, org):
    answer = web(owner).post(
        "/org/settings/",
        {
            "name": "Acme Inc",
            "model": "claude-x",
            "allowed_tools": "Read, Grep\nBash",
            "permission_mode": "plan",
            "max_turns": "9",
            "max_duration": "",
            "session_visibility": "own",
        },
    )
    assert answer.status_code == 302
    org.refresh_from_db()
    assert org.name == "Acme Inc"
    assert org.settings["sessionDefaults"] == {
        "model": "claude-x",
        "allowedTools": ["Read", "Grep", "Bash"],
        "permissionMode": "plan",
        "maxTurns": 9,
    }
    assert org.settings["sessionVisibility"] == "own"
    assert AuditEvent.objects.filter(action=AuditAction.SETTINGS_CHANGED).count() == 1
    member.organization.refresh_from_db()
    session = new_session(member, mode=SessionMode.ATTACHED)
    assert session.metadata["maxTurns"] == 9 and session.metadata["model"] == "claude-x"
    page = web(owner).get("/org/settings/").content.decode()
    assert 'value="claude-x"' in page and "Read, Grep, Bash" in page


def test_bad_settings_are_shown_and_not_saved(web, owner, org):
    org.settings = {"maxTurns": 5}
    org.save()
    answer = web(owner).post(
        "/org/settings/", {"name": "Acme", "max_turns": "50", "session_visibility": "own"}
    )
    assert (
        answer.status_code == 400
        and b"maxTurns must be a whole number from 1 to 5" in answer.content
    )
    org.refresh_from_db()
    assert org.settings == {"maxTurns": 5}


def test_the_git_credential_is_set_never_shown_and_removed(web, owner, org):
    client = web(owner)
    answer = client.post(
        "/org/settings/git-credential/",
        {"token": "ghp_secret_value_123", "username": "x-access-token", "host": "github.com"},
        follow=True,
    )
    assert answer.status_code == 200 and b"ghp_secret_value_123" not in answer.content
    org.refresh_from_db()
    assert org.has_git_credential and org.git_credential_host == "github.com"
    assert b"Set for" in client.get("/org/settings/").content
    client.post("/org/settings/git-credential/remove/")
    org.refresh_from_db()
    assert not org.has_git_credential
    details = str(list(AuditEvent.objects.values_list("details", flat=True)))
    assert "ghp_secret_value_123" not in details


def test_a_bad_git_host_is_a_form_error(web, owner, org):
    answer = web(owner).post(
        "/org/settings/git-credential/", {"token": "t", "host": "evil.example"}
    )
    assert answer.status_code == 400
    org.refresh_from_db()
    assert not org.has_git_credential


def test_local_roots_are_shown_read_only(web, owner, member, project_root):
    page = web(member).get("/org/settings/").content.decode()
    assert str(project_root) in page
    assert 'name="local_roots' not in page  # no field: operators grant them


def test_the_audit_page_lists_and_filters_events(web, owner, member, other_org):
    web(owner).post("/org/members/member/role/", {"role": "viewer"})
    page = web(owner).get("/org/audit/").content.decode()
    assert f'data-action="{AuditAction.MEMBER_ROLE_CHANGED}"' in page
    assert "{&quot;from&quot;: &quot;user&quot;, &quot;to&quot;: &quot;viewer&quot;}" in page
    filtered = web(owner).get(f"/org/audit/?action={AuditAction.SETTINGS_CHANGED}").content
    assert b"data-action=" not in filtered and b"No events" in filtered
    by_actor = web(owner).get("/org/audit/?actor=nobody").content
    assert b"No events" in by_actor
