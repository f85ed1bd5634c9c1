"""Organization settings: defaults for new sessions (applied where the request is silent,
validated as metadata is), the session visibility default, audited changes."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from sessions import selectors as session_selectors
from sessions.choices import SessionMode
from tenants import services
from tenants.choices import AuditAction
from tenants.models import AuditEvent
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


def update(org, actor, *, defaults=None, visibility="organization", name=None):
    return services.update_organization_settings(
        organization=org,
        actor=actor,
        name=name or org.name,
        session_defaults=defaults or {},
        session_visibility=visibility,
    )


def attached(user, **overrides):
    return new_session(user, mode=SessionMode.ATTACHED, **overrides)


def test_defaults_fill_what_the_session_leaves_out(org, owner, member):
    defaults = {"model": "claude-x", "maxTurns": 7, "permissionMode": "plan"}
    update(org, owner, defaults=defaults)
    member.organization.refresh_from_db()
    session = attached(member)
    assert session.metadata == defaults


def test_an_explicit_value_wins_over_the_default(org, owner, member):
    update(org, owner, defaults={"model": "claude-x", "maxTurns": 7})
    member.organization.refresh_from_db()
    session = attached(member, metadata={"maxTurns": 3})
    assert session.metadata == {"maxTurns": 3, "model": "claude-x"}


def test_a_privileged_default_an_admin_chose_applies_to_members(org, owner, member):
    update(org, owner, defaults={"permissionMode": "bypassPermissions", "allowedTools": ["X"]})
    member.organization.refresh_from_db()
    session = attached(member)
    assert session.metadata["permissionMode"] == "bypassPermissions"
    with pytest.raises(ValidationError):  # but choosing a privileged value is still an admin's
        attached(member, metadata={"allowedTools": ["Y"]})


@pytest.mark.parametrize(
    "defaults",
    [
        {"permissionMode": "yolo"},
        {"maxTurns": 0},
        {"maxTurns": True},
        {"maxDuration": 10**9},
        {"model": ""},
        {"allowedTools": "Bash"},
        {"colour": "blue"},
    ],
)
def test_bad_defaults_are_refused_as_bad_metadata_would_be(org, owner, defaults):
    with pytest.raises(ValidationError) as caught:
        update(org, owner, defaults=defaults)
    assert "settings" in caught.value.message_dict
    org.refresh_from_db()
    assert "sessionDefaults" not in org.settings
    assert not AuditEvent.objects.filter(action=AuditAction.SETTINGS_CHANGED).exists()


def test_defaults_must_fit_the_organizations_limits(org, owner):
    org.settings = {"maxTurns": 10}
    org.save()
    with pytest.raises(ValidationError):
        update(org, owner, defaults={"maxTurns": 11})
    update(org, owner, defaults={"maxTurns": 10})


def test_bad_visibility_and_name_are_refused(org, owner):
    with pytest.raises(ValidationError):
        update(org, owner, visibility="everyone")
    with pytest.raises(ValidationError):
        update(org, owner, name=" ")


@pytest.mark.parametrize("persona", ["member", "viewer", "outsider"])
def test_only_the_organizations_admins_change_settings(request, org, persona):
    with pytest.raises(PermissionDenied):
        update(org, request.getfixturevalue(persona), name="Hijacked")


def test_a_change_is_audited_with_what_changed(org, owner):
    update(org, owner, name="Acme Inc", defaults={"model": "m"}, visibility="own")
    event = AuditEvent.objects.get(action=AuditAction.SETTINGS_CHANGED)
    assert event.details == {
        "changed": {
            "name": {"from": "Acme", "to": "Acme Inc"},
            "sessionDefaults": {"from": {}, "to": {"model": "m"}},
            "sessionVisibility": {"from": "organization", "to": "own"},
        }
    }
    update(org, owner, name="Acme Inc", defaults={"model": "m"}, visibility="own")
    assert AuditEvent.objects.filter(action=AuditAction.SETTINGS_CHANGED).count() == 1


def test_other_settings_keys_are_kept(org, owner):
    org.settings = {"allowedTools": ["Read"], "maxTurns": 20}
    org.save()
    update(org, owner, defaults={"maxTurns": 5})
    org.refresh_from_db()
    assert org.settings["allowedTools"] == ["Read"] and org.settings["maxTurns"] == 20


def test_visibility_own_shows_users_and_viewers_only_their_sessions(org, owner, member, viewer):
    mine = attached(member)
    admins = attached(owner)
    update(org, owner, visibility="own")
    for user in (owner, member, viewer):
        user.organization.refresh_from_db()
    assert set(session_selectors.sessions_visible_to(owner)) == {mine, admins}
    assert list(session_selectors.sessions_visible_to(member)) == [mine]
    assert list(session_selectors.sessions_visible_to(viewer)) == []


def test_visibility_own_makes_others_sessions_404_over_the_api(api, org, owner, member):
    admins = attached(owner)
    update(org, owner, visibility="own")
    assert api(member).get(f"/api/sessions/{admins.pk}/").status_code == 404
    assert api(member).get("/api/sessions/").json()["results"] == []
    assert api(owner).get(f"/api/sessions/{admins.pk}/").status_code == 200


def test_visibility_organization_is_the_default(org, owner, member):
    admins = attached(owner)
    assert list(session_selectors.sessions_visible_to(member)) == [admins]
