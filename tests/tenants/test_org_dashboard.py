"""The organization dashboard at /org/: usage against each quota, active sessions, members,
recent activity; admin-only parts for admins only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sessions.choices import SessionMode, SessionStatus
from sessions.models import Session
from tenants import quotas, services
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_log_in(web, org):
    response = web(None).get("/org/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_members_see_usage_against_each_limit_as_bars(web, org, member):
    services.set_quotas(
        organization=org, actor=None, changes={"max_active_sessions": 4, "max_storage_gb": 2}
    )
    services.record_usage(
        organization_id=org.pk, workspaces=3, storage_bytes=quotas.GB, measured_at=timezone.now()
    )
    new_session(member, name="busy one", mode=SessionMode.ATTACHED)
    page = web(member).get("/org/").content.decode()
    assert 'aria-valuetext="1 of 4 (25%)"' in page
    assert 'aria-valuetext="1.0 of 2 GB (50%)"' in page
    assert page.count('role="progressbar"') == 2  # unlimited quotas have no bar
    assert "unlimited" in page
    assert "busy one" in page


def test_a_full_quota_says_so(web, org, member):
    services.set_quotas(organization=org, actor=None, changes={"max_active_sessions": 1})
    new_session(member, mode=SessionMode.ATTACHED)
    page = web(member).get("/org/").content.decode()
    assert "quota-full" in page
    assert "Limit reached" in page


def test_the_page_lists_members_and_recent_sessions(web, org, owner, member, viewer, outsider):
    ended = new_session(member, name="finished work", mode=SessionMode.ATTACHED)
    Session.objects.filter(pk=ended.pk).update(status=SessionStatus.COMPLETED)
    page = web(viewer).get("/org/").content.decode()
    for name in ("owner", "member", "viewer"):
        assert f"<span>{name}</span>" in page
    assert "outsider" not in page
    assert "finished work" in page


def test_admins_see_recent_audit_events_and_management_links(web, org, owner, superuser):
    services.set_quotas(organization=org, actor=superuser, changes={"max_workspaces": 9})
    page = web(owner).get("/org/").content.decode()
    assert "Recent audit events" in page
    assert "Quotas changed" in page
    for path in ("/org/members/", "/org/settings/", "/org/audit/"):
        assert f'href="{path}"' in page


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_non_admins_see_no_audit_events_or_management_links(web, org, superuser, persona, request):
    services.set_quotas(organization=org, actor=superuser, changes={"max_workspaces": 9})
    page = web(request.getfixturevalue(persona)).get("/org/").content.decode()
    assert "Recent audit events" not in page
    assert "Quotas changed" not in page
    assert "/org/members/" not in page
    assert "Usage and quotas" in page


def test_another_organizations_sessions_never_show(web, org, member, outsider):
    new_session(outsider, name="their secret", mode=SessionMode.ATTACHED)
    assert "their secret" not in web(member).get("/org/").content.decode()


def test_a_platform_superuser_gets_a_clear_answer(web, superuser):
    response = web(superuser).get("/org/")
    assert response.status_code == 200
    assert "belong to no organization" in response.content.decode()


def test_the_nav_links_to_the_organization(web, member):
    assert 'href="/org/"' in web(member).get("/").content.decode()


def test_the_new_session_form_shows_the_quota_message(web, org, member):
    services.set_quotas(organization=org, actor=None, changes={"max_active_sessions": 0})
    response = web(member).post(
        "/sessions/new/",
        {"name": "x", "project_type": "github", "github_repo": "acme/widgets", "mode": "managed"},
    )
    assert response.status_code == 429
    page = response.content.decode()
    assert "Quota reached" in page
    assert "Stop a session or wait for one to finish" in page
    assert not Session.objects.exists()
