"""What operators and admins set for an organization's sources: local roots (superusers,
inside LOCAL_PROJECT_ROOTS) and the git credential (admins; encrypted, never shown)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tenants import encryption, selectors, services
from tenants.models import Organization

pytestmark = pytest.mark.django_db

TOKEN = "ghp_s3cretTokenValue0123456789abcdef"


@pytest.fixture
def bound(tmp_path, settings) -> Path:
    """LOCAL_PROJECT_ROOTS: the operator's bound, holding two project folders."""
    bound = tmp_path / "projects"
    (bound / "acme").mkdir(parents=True)
    (bound / "globex").mkdir()
    settings.LOCAL_PROJECT_ROOTS = [bound]
    settings.DATA_DIR = tmp_path / "data"
    settings.WORKSPACES_DIR = tmp_path / "data" / "workspaces"
    return bound


def url(org) -> str:
    return f"/api/organizations/{org.slug}/"


# --- local roots --------------------------------------------------------------------------


def test_a_superuser_grants_local_roots(api, superuser, org, bound):
    response = api(superuser).patch(url(org), {"local_roots": [str(bound / "acme")]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["local_roots"] == [str(bound / "acme")]
    org.refresh_from_db()
    assert selectors.local_roots_of(org) == [bound / "acme"]


def test_members_see_their_roots_but_an_org_admin_may_not_grant_them(api, owner, org, bound):
    response = api(owner).patch(url(org), {"local_roots": [str(bound)]}, format="json")
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.local_roots == []
    assert api(owner).get(url(org)).json()["local_roots"] == []


@pytest.mark.parametrize(
    "root, problem",
    [
        ("{tmp}/elsewhere", "outside LOCAL_PROJECT_ROOTS"),
        ("{tmp}/data/workspaces", "inside DATA_DIR"),
        ("{bound}/../elsewhere", "'..'"),
        ("relative/path", "absolute"),
        ("{bound}/link-out", "outside LOCAL_PROJECT_ROOTS"),
    ],
)
def test_grants_outside_the_bound_are_400(api, superuser, org, bound, tmp_path, root, problem):
    (tmp_path / "elsewhere").mkdir()
    (bound / "link-out").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    root = root.format(tmp=tmp_path, bound=bound)
    response = api(superuser).patch(url(org), {"local_roots": [root]}, format="json")
    assert response.status_code == 400, response.content
    assert problem in response.json()["local_roots"][0]
    org.refresh_from_db()
    assert org.local_roots == []


def test_a_data_dir_inside_the_bound_is_still_not_grantable(api, superuser, org, bound, settings):
    settings.DATA_DIR = bound / "acme"
    response = api(superuser).patch(url(org), {"local_roots": [str(bound / "acme")]}, format="json")
    assert response.status_code == 400
    assert "DATA_DIR" in response.json()["local_roots"][0]


def test_grants_that_left_the_bound_no_longer_count(superuser, org, bound, settings, tmp_path):
    services.set_local_roots(organization=org, actor=superuser, roots=[str(bound / "acme")])
    org.refresh_from_db()
    settings.LOCAL_PROJECT_ROOTS = [tmp_path / "other"]
    assert selectors.local_roots_of(org) == []


def test_patch_takes_only_local_roots(api, superuser, org, bound):
    response = api(superuser).patch(url(org), {"name": "Renamed"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_the_admin_grants_local_roots(client, superuser, org, bound, tmp_path):
    client.force_login(superuser)
    change = f"/admin/tenants/organization/{org.pk}/change/"
    form = {
        "name": org.name,
        "slug": org.slug,
        "settings": "{}",
        "local_roots_text": f"{bound / 'acme'}\n",
        "git_username": "x-access-token",
    }
    assert client.post(change, form).status_code == 302
    org.refresh_from_db()
    assert org.local_roots == [str(bound / "acme")]

    response = client.post(change, {**form, "local_roots_text": str(tmp_path)})
    assert response.status_code == 200  # the form again, with the error
    assert "outside LOCAL_PROJECT_ROOTS" in response.content.decode()
    org.refresh_from_db()
    assert org.local_roots == [str(bound / "acme")]


# --- the git credential -------------------------------------------------------------------


def credential_url(org) -> str:
    return f"/api/organizations/{org.slug}/git-credential/"


def stored_column(org) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT git_credential_encrypted FROM tenants_organization WHERE id = %s",
            [org.pk.hex if connection.vendor == "sqlite" else org.pk],
        )
        return cursor.fetchone()[0]


def test_an_admin_sets_the_credential_it_is_stored_encrypted_and_never_shown(api, owner, org):
    response = api(owner).put(credential_url(org), {"token": TOKEN}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "has_git_credential": True,
        "host": "github.com",
        "username": "x-access-token",
    }
    column = stored_column(org)
    assert column and TOKEN not in column and "s3cret" not in column
    org.refresh_from_db()
    assert selectors.git_credential_of(org).token == TOKEN
    assert TOKEN not in repr(selectors.git_credential_of(org))
    for answer in (
        api(owner).get(url(org)),
        api(owner).get(credential_url(org)),
        api(owner).get(f"/api/organizations/{org.slug}/?format=json"),
    ):
        assert answer.status_code == 200
        assert TOKEN not in answer.content.decode()
    assert api(owner).get(url(org)).json()["has_git_credential"] is True


def test_who_may_set_the_credential(api, org, owner, member, viewer, outsider, superuser):
    body = {"token": TOKEN}
    assert api(member).put(credential_url(org), body, format="json").status_code == 403
    assert api(viewer).put(credential_url(org), body, format="json").status_code == 403
    assert api(outsider).put(credential_url(org), body, format="json").status_code == 404
    assert api(None).put(credential_url(org), body, format="json").status_code == 401
    assert not Organization.objects.get(pk=org.pk).has_git_credential
    assert api(superuser).put(credential_url(org), body, format="json").status_code == 200


def test_the_credential_host_must_be_an_allowed_git_host(api, owner, org):
    body = {"token": TOKEN, "host": "evil.example"}
    response = api(owner).put(credential_url(org), body, format="json")
    assert response.status_code == 400
    assert "host" in response.json()
    assert TOKEN not in response.content.decode()


def test_an_admin_removes_the_credential(api, owner, org):
    api(owner).put(credential_url(org), {"token": TOKEN}, format="json")
    response = api(owner).delete(credential_url(org))
    assert response.status_code == 200
    assert response.json()["has_git_credential"] is False
    assert stored_column(org) == ""


def test_keys_rotate(owner, org, settings, capsys):
    from django.core.management import call_command

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    services.set_git_credential(organization=org, actor=owner, token=TOKEN)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # the new key first: it encrypts from now
    org.refresh_from_db()
    assert selectors.git_credential_of(org).token == TOKEN
    call_command("rotate_field_encryption")
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped
    org.refresh_from_db()
    assert selectors.git_credential_of(org).token == TOKEN
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(encryption.SecretUnreadable):
        selectors.git_credential_of(org)
