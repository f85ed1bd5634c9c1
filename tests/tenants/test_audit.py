"""The audit trail: services append an event for what an organization must account for, in
the same transaction as the change, from the request's address; events never change."""

from __future__ import annotations

import pytest

from sessions.choices import SessionMode
from tenants.choices import AuditAction
from tenants.models import AuditEvent
from tests.conftest import PASSWORD, new_session

pytestmark = pytest.mark.django_db


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_creating_and_stopping_a_session_over_the_api_is_audited(api, member):
    created = api(member).post(
        "/api/sessions/",
        {"name": "x", "mode": "attached", "project_type": "github", "github_repo": "a/b"},
        format="json",
        REMOTE_ADDR="203.0.113.7",
    )
    assert created.status_code == 201
    [event] = events(AuditAction.SESSION_CREATED)
    assert (event.actor, event.actor_name, event.organization) == (
        member,
        "member",
        member.organization,
    )
    assert event.target_id == created.json()["id"] and event.target_type == "agent_sessions.session"
    assert event.address == "203.0.113.7"
    stopped = api(member).post(f"/api/sessions/{created.json()['id']}/stop/", {"reason": "done"})
    assert stopped.status_code == 200
    [stop] = events(AuditAction.SESSION_STOPPED)
    assert stop.details == {"reason": "done"} and stop.actor == member


def test_a_refused_stop_leaves_no_audit_event(api, member):
    session = new_session(member, mode=SessionMode.ATTACHED)
    assert api(member).post(f"/api/sessions/{session.pk}/stop/").status_code == 200
    assert api(member).post(f"/api/sessions/{session.pk}/stop/").status_code == 409
    assert len(events(AuditAction.SESSION_STOPPED)) == 1


def test_members_and_tokens_are_audited(api, owner):
    added = api(owner).post(
        f"/api/organizations/{owner.organization.slug}/users/",
        {"username": "newbie", "password": PASSWORD, "role": "viewer"},
        format="json",
    )
    assert added.status_code == 201, added.content
    [member_added] = events(AuditAction.MEMBER_ADDED)
    assert member_added.actor == owner and member_added.details == {"role": "viewer"}
    login = api(None).post("/api/auth/token/", {"username": "newbie", "password": PASSWORD})
    token_id = login.json()["id"]
    [issued] = [e for e in events(AuditAction.TOKEN_ISSUED) if e.target_id == token_id]
    assert issued.actor_name == "newbie" and issued.organization == owner.organization
    assert api(owner).delete(f"/api/auth/tokens/{token_id}/").status_code == 204
    [revoked] = events(AuditAction.TOKEN_REVOKED)
    assert revoked.actor == owner and revoked.details["holder"] == "newbie"


def test_creating_an_organization_is_a_platform_event(api, superuser):
    answer = api(superuser).post("/api/organizations/", {"name": "Initech", "slug": "initech"})
    assert answer.status_code == 201
    [event] = events(AuditAction.ORGANIZATION_CREATED)
    assert event.organization is None and event.target_repr == "Initech"


def test_audit_events_are_append_only(member):
    new_session(member)
    event = AuditEvent.objects.get()
    event.action = AuditAction.BYPASS_USED
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
