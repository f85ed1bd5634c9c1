"""Agent options by role: one rule (sessions/agent_options.py) on create, PATCH and the
console; organizations set the tools members may choose and the limits in their settings."""

from __future__ import annotations

import pytest

from sessions.models import Session
from tenants.models import Organization
from tests.conftest import new_session

pytestmark = pytest.mark.django_db

SESSION = {"name": "s", "project_type": "github", "github_repo": "acme/widgets"}


def create(api, user, **metadata):
    return api(user).post("/api/sessions/", {**SESSION, "metadata": metadata}, format="json")


def test_patch_validates_metadata_exactly_as_create_does(api, member):
    session = new_session(member)
    bad = {"permissionMode": "yolo", "maxTurns": -5, "allowedTools": "Bash"}
    response = api(member).patch(f"/api/sessions/{session.pk}/", {"metadata": bad}, format="json")
    assert response.status_code == 400
    errors = response.json()["metadata"]
    assert any("permissionMode must be one of" in e for e in errors)
    assert any("maxTurns must be a whole number from 1 to 1000" in e for e in errors)
    assert any("allowedTools must be a list" in e for e in errors)
    session.refresh_from_db()
    assert session.metadata == {}
    assert create(api, member, **bad).status_code == 400
    assert Session.objects.count() == 1


def test_only_admins_may_bypass_permissions(api, member, owner):
    refused = create(api, member, permissionMode="bypassPermissions")
    assert refused.status_code == 400
    assert "Only organization admins may set permissionMode bypassPermissions" in str(
        refused.json()["metadata"]
    )
    assert create(api, member, permissionMode="acceptEdits").status_code == 201
    assert create(api, owner, permissionMode="bypassPermissions").status_code == 201


def test_only_admins_may_allow_tools_beyond_the_organizations_list(api, member, owner, settings):
    settings.AGENT_ALLOWED_TOOLS = ["Read", "Grep"]
    refused = create(api, member, allowedTools=["Read", "Bash", "WebFetch"])
    assert refused.status_code == 400
    assert "beyond the organization's list: Bash, WebFetch" in str(refused.json()["metadata"])
    assert create(api, member, allowedTools=["Read"]).status_code == 201
    assert create(api, owner, allowedTools=["Read", "Bash"]).status_code == 201


def test_the_organizations_settings_set_the_list_and_the_limits(api, member, org):
    org.settings = {"allowedTools": ["Bash"], "maxTurns": 10, "maxDuration": 600}
    org.save()
    assert create(api, member, allowedTools=["Bash"]).status_code == 201
    assert create(api, member, allowedTools=["Read"]).status_code == 400
    over = create(api, member, maxTurns=11, maxDuration=601)
    assert over.status_code == 400
    assert "maxTurns must be a whole number from 1 to 10." in over.json()["metadata"]
    assert "maxDuration must be a whole number from 1 to 600." in over.json()["metadata"]
    assert create(api, member, maxTurns=10).status_code == 201


def test_a_member_may_keep_but_not_set_what_an_admin_set(api, member, owner):
    session = new_session(owner, metadata={"permissionMode": "bypassPermissions"})
    url = f"/api/sessions/{session.pk}/"
    kept = {"permissionMode": "bypassPermissions", "note": "renamed"}
    assert api(member).patch(url, {"metadata": kept}, format="json").status_code == 200

    other = new_session(owner)
    response = api(member).patch(
        f"/api/sessions/{other.pk}/",
        {"metadata": {"permissionMode": "bypassPermissions"}},
        format="json",
    )
    assert response.status_code == 400
    other.refresh_from_db()
    assert other.metadata == {}


def test_organization_settings_are_checked(api, superuser):
    response = api(superuser).post(
        "/api/organizations/",
        {"name": "I", "slug": "initech", "settings": {"allowedTools": "Bash", "maxTurns": 0}},
        format="json",
    )
    assert response.status_code == 400
    assert len(response.json()["settings"]) == 2
    assert not Organization.objects.filter(slug="initech").exists()


def test_metadata_is_bounded_in_size(api, member):
    response = create(api, member, note="x" * 20_000)
    assert response.status_code == 400
    assert "limited to 16384 bytes" in str(response.json()["metadata"])
