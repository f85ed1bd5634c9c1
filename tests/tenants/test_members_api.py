"""Member management over the API: list, add (password, one-time password, invitation),
change role, deactivate and reactivate; who may; the last active admin stays."""

from __future__ import annotations

import pytest
from django.core import mail

from tenants.choices import AuditAction, Role
from tenants.models import ApiToken, AuditEvent, User
from tests.conftest import api_token_for, client_for

pytestmark = pytest.mark.django_db

USERS = "/api/organizations/acme/users/"


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_admins_list_their_organizations_members(api, owner, member, viewer, outsider):
    answer = api(owner).get(USERS)
    assert answer.status_code == 200
    rows = answer.json()["results"]
    assert [row["username"] for row in rows] == ["member", "owner", "viewer"]
    assert rows[0] == {
        **rows[0],
        "role": "user",
        "is_active": True,
        "organization": "acme",
        "invitation_pending": False,
    }
    assert "password" not in rows[0]


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_and_viewers_may_not_list_or_change_members(request, api, owner, persona):
    user = request.getfixturevalue(persona)
    assert api(user).get(USERS).status_code == 403
    assert api(user).patch(f"{USERS}owner/", {"role": "user"}, format="json").status_code == 403
    assert api(user).post(USERS, {"username": "x"}, format="json").status_code == 403


def test_another_organization_is_a_404(api, owner, outsider):
    assert api(outsider).get(USERS).status_code == 404
    answer = api(outsider).patch(f"{USERS}owner/", {"role": "user"}, format="json")
    assert answer.status_code == 404
    assert User.objects.get(username="owner").role == Role.ADMIN


def test_superusers_list_any_organizations_members(api, superuser, owner):
    answer = api(superuser).get(USERS)
    assert answer.status_code == 200
    assert [row["username"] for row in answer.json()["results"]] == ["owner"]


def test_an_unknown_member_is_a_404(api, owner):
    assert api(owner).patch(f"{USERS}nobody/", {"role": "user"}, format="json").status_code == 404


def test_adding_a_member_without_a_password_answers_a_one_time_password_once(api, owner):
    answer = api(owner).post(USERS, {"username": "newbie", "role": "viewer"}, format="json")
    assert answer.status_code == 201, answer.content
    password = answer.json()["one_time_password"]
    newbie = User.objects.get(username="newbie")
    assert newbie.check_password(password) and newbie.role == Role.VIEWER
    assert password not in str(list(AuditEvent.objects.values_list("details", flat=True)))
    assert api(owner).get(USERS).json()["results"][0].get("one_time_password") is None


def test_a_replayed_add_does_not_show_the_one_time_password_again(api, owner):
    client = api(owner)
    first = client.post(USERS, {"username": "n1"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(USERS, {"username": "n1"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert "one_time_password" in first.json()
    assert "one_time_password" not in again.json() and "one_time_password_note" in again.json()


def test_an_invitation_mails_a_link_and_sets_no_password(
    api, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(owner).post(
            USERS,
            {"username": "invitee", "email": "invitee@example.com", "invite": True},
            format="json",
        )
    assert answer.status_code == 201, answer.content
    assert answer.json()["invitation_pending"] is True
    assert not User.objects.get(username="invitee").has_usable_password()
    [message] = mail.outbox
    assert message.to == ["invitee@example.com"] and "/org/invite/" in message.body
    assert AuditAction.MEMBER_INVITED in actions()


def test_an_invitation_needs_an_email_and_no_password(api, owner):
    no_email = api(owner).post(USERS, {"username": "a", "invite": True}, format="json")
    assert no_email.status_code == 400 and "email" in no_email.json()
    both = api(owner).post(
        USERS,
        {"username": "a", "invite": True, "email": "a@example.com", "password": "x" * 12},
        format="json",
    )
    assert both.status_code == 400 and "invite" in both.json()
    assert not User.objects.filter(username="a").exists()


def test_an_admin_changes_a_role_and_it_is_audited(api, owner, member):
    answer = api(owner).patch(f"{USERS}member/", {"role": "viewer"}, format="json")
    assert answer.status_code == 200 and answer.json()["role"] == "viewer"
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_ROLE_CHANGED)
    assert event.details == {"from": "user", "to": "viewer"} and event.actor == owner
    assert event.target_repr == "member"


def test_unknown_fields_and_bad_roles_are_400s(api, owner, member):
    assert api(owner).patch(f"{USERS}member/", {"rol": "viewer"}, format="json").status_code == 400
    assert api(owner).patch(f"{USERS}member/", {"role": "god"}, format="json").status_code == 400
    assert api(owner).patch(f"{USERS}member/", {}, format="json").status_code == 400


def test_the_last_admin_cannot_be_demoted_or_deactivated(api, owner, member):
    demote = api(owner).patch(f"{USERS}owner/", {"role": "user"}, format="json")
    assert demote.status_code == 400
    assert "last active admin" in str(demote.json())
    off = api(owner).patch(f"{USERS}owner/", {"is_active": False}, format="json")
    assert off.status_code == 400
    owner.refresh_from_db()
    assert owner.role == Role.ADMIN and owner.is_active
    assert AuditAction.MEMBER_ROLE_CHANGED not in actions()


def test_with_a_second_admin_the_first_may_step_down(api, owner, member):
    assert api(owner).patch(f"{USERS}member/", {"role": "admin"}, format="json").status_code == 200
    assert api(owner).patch(f"{USERS}owner/", {"role": "user"}, format="json").status_code == 200
    # and now member is the last one
    assert api(member).patch(f"{USERS}member/", {"role": "user"}, format="json").status_code == 400


def test_a_deactivated_admin_does_not_count_as_the_remaining_admin(api, owner, member):
    api(owner).patch(f"{USERS}member/", {"role": "admin"}, format="json")
    assert (
        api(owner).patch(f"{USERS}member/", {"is_active": False}, format="json").status_code == 200
    )
    assert api(owner).patch(f"{USERS}owner/", {"role": "user"}, format="json").status_code == 400


def test_a_refused_combined_change_leaves_nothing_half_done(api, owner, member):
    answer = api(owner).patch(
        f"{USERS}owner/", {"role": "viewer", "is_active": False}, format="json"
    )
    assert answer.status_code == 400
    owner.refresh_from_db()
    assert owner.role == Role.ADMIN and owner.is_active
    assert AuditAction.MEMBER_DEACTIVATED not in actions()


def test_deactivation_makes_the_members_token_fail_at_once(api, owner, member):
    token = api_token_for(member)
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/sessions/").status_code == 200
    off = api(owner).patch(f"{USERS}member/", {"is_active": False}, format="json")
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.get("/api/sessions/").status_code == 401
    assert not ApiToken.objects.filter(user=member, revoked_at__isnull=True).exists()
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_DEACTIVATED)
    assert event.details == {"tokens_revoked": 1}
    # Reactivated, the old token stays revoked; a new log-in works.
    on = api(owner).patch(f"{USERS}member/", {"is_active": True}, format="json")
    assert on.status_code == 200 and on.json()["is_active"] is True
    assert client.get("/api/sessions/").status_code == 401
    assert client_for(member).get("/api/sessions/").status_code == 200
    assert AuditAction.MEMBER_REACTIVATED in actions()


def test_a_deactivated_member_cannot_obtain_a_token(api, owner, member):
    api(owner).patch(f"{USERS}member/", {"is_active": False}, format="json")
    answer = client_for(None).post(
        "/api/auth/token/", {"username": "member", "password": "correct-horse-battery-staple"}
    )
    assert answer.status_code in (400, 401)


def test_admins_list_and_revoke_one_members_tokens(api, owner, member, viewer):
    api_token_for(member)
    api_token_for(viewer)
    listed = api(owner).get("/api/auth/tokens/?user=member")
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert {row["user"] for row in rows} == {"member"}
    revoked = api(owner).delete(f"/api/auth/tokens/{rows[0]['id']}/")
    assert revoked.status_code == 204
    assert ApiToken.objects.get(pk=rows[0]["id"]).revoked_at is not None
