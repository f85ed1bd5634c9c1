"""The audit trail's listings: GET /api/audit/ (admins: their organization's; superusers:
all, or one organization's), newest first, filtered; the console lists it read-only."""

from __future__ import annotations

import pytest

from tenants import services
from tenants.choices import AuditAction, Role
from tenants.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(owner, member, outsider):
    services.change_member_role(member=member, actor=owner, role=Role.VIEWER)
    services.deactivate_member(member=member, actor=owner)
    services.issue_api_token(user=outsider)


def test_admins_read_their_organizations_events_newest_first(api, owner, trail):
    rows = api(owner).get("/api/audit/").json()["results"]
    assert [row["organization"] for row in rows] == ["acme"] * len(rows)
    rows = [row for row in rows if row["action"] != AuditAction.TOKEN_ISSUED]  # api()'s own
    assert [row["action"] for row in rows][:2] == [
        AuditAction.MEMBER_DEACTIVATED,
        AuditAction.MEMBER_ROLE_CHANGED,
    ]
    assert rows[0]["actor"] == "owner"
    assert rows[0]["target"]["repr"] == "member"


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_and_viewers_are_refused(request, api, persona, owner):
    user = request.getfixturevalue(persona)
    assert api(user).get("/api/audit/").status_code == 403


def test_anonymous_is_a_401(api):
    assert api(None).get("/api/audit/").status_code == 401


def test_an_admin_cannot_read_another_organization_even_when_asking(api, outsider, trail):
    rows = api(outsider).get("/api/audit/?organization=acme").json()["results"]
    assert rows and {row["organization"] for row in rows} == {"globex"}


def test_superusers_read_everything_and_filter_by_organization(api, superuser, trail):
    everything = api(superuser).get("/api/audit/").json()
    assert {row["organization"] for row in everything["results"]} >= {"acme", "globex"}
    acme = api(superuser).get("/api/audit/?organization=acme").json()["results"]
    assert acme and {row["organization"] for row in acme} == {"acme"}


def test_filters_by_action_and_actor(api, owner, trail):
    client = api(owner)
    rows = client.get(f"/api/audit/?action={AuditAction.MEMBER_ROLE_CHANGED}").json()["results"]
    assert [row["action"] for row in rows] == [AuditAction.MEMBER_ROLE_CHANGED]
    by_owner = client.get("/api/audit/?actor=owner").json()["results"]
    assert by_owner and {row["actor"] for row in by_owner} == {"owner"}
    assert client.get("/api/audit/?action=nonsense").status_code == 400


def test_the_listing_is_paginated(api, owner):
    for _ in range(55):
        services.record_audit(
            action=AuditAction.BYPASS_USED, actor=owner, organization=owner.organization
        )
    first = api(owner).get("/api/audit/").json()
    assert first["count"] == 56 and len(first["results"]) == 50 and first["next"]  # + token


def test_the_console_lists_events_read_only(web, superuser, trail):
    client = web(superuser)
    assert client.get("/admin/tenants/auditevent/").status_code == 200
    event = AuditEvent.objects.first()
    assert client.get(f"/admin/tenants/auditevent/{event.pk}/change/").status_code == 200
    assert client.get("/admin/tenants/auditevent/add/").status_code == 403
    deleted = client.post(f"/admin/tenants/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def console_user_form(client, user, **changes) -> dict:
    """What the console's change form for `user` posts, with `changes`."""
    page = client.get(f"/admin/tenants/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    for name in ("groups", "user_permissions", "last_login"):
        data.pop(name, None)
    data.update(
        {
            "username": user.username,
            "organization": str(user.organization_id),
            "role": user.role,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            **changes,
        }
    )
    return data


def test_an_operator_changes_a_role_in_the_console_through_the_service(
    web, superuser, owner, member
):
    client = web(superuser)
    data = console_user_form(client, owner, role="user")
    client.post(f"/admin/tenants/user/{owner.pk}/change/", data)
    owner.refresh_from_db()
    assert owner.role == Role.ADMIN  # the last admin: refused
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBER_ROLE_CHANGED).exists()
    data["role"] = "viewer"
    data["username"] = "member"
    client.post(f"/admin/tenants/user/{member.pk}/change/", data)
    member.refresh_from_db()
    assert member.role == Role.VIEWER
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_ROLE_CHANGED).count() == 1


def test_an_operator_deactivates_with_the_console_action(web, superuser, owner, member):
    web(superuser).post(
        "/admin/tenants/user/",
        {"action": "deactivate", "_selected_action": [str(member.pk), str(owner.pk)]},
    )
    member.refresh_from_db()
    owner.refresh_from_db()
    assert not member.is_active and owner.is_active  # owner is the last admin


def test_a_user_added_in_the_console_is_audited(web, superuser, org):
    answer = web(superuser).post(
        "/admin/tenants/user/add/",
        {
            "username": "console-made",
            "password1": "a-long-passphrase-1",
            "password2": "a-long-passphrase-1",
            "usable_password": "true",
            "organization": str(org.pk),
            "role": "viewer",
        },
    )
    assert answer.status_code == 302, answer.content[:2000]
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_ADDED)
    assert event.target_repr == "console-made" and event.actor == superuser
    assert event.details == {"role": "viewer", "by": "console"}


def test_the_console_never_moves_a_member_to_another_organization(web, superuser, owner, other_org):
    client = web(superuser)
    data = console_user_form(client, owner, organization=str(other_org.pk))
    assert (
        "organization"
        not in client.get(f"/admin/tenants/user/{owner.pk}/change/")
        .context["adminform"]
        .form.fields
    )
    client.post(f"/admin/tenants/user/{owner.pk}/change/", data)
    owner.refresh_from_db()
    assert owner.organization_id != other_org.pk
