"""Per-organization sources: a local session uses only its own organization's roots, and a
private repository is cloned with the organization's own credential, over real HTTPS to a
real `git http-backend`, with the token kept out of every message and log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sessions import services
from sessions.models import Session
from sessions.workspaces.folders import workspace_path
from tenants import services as tenant_services
from tests.sessions.conftest import git
from tests.sessions.workspaces.git_server import GitHttpsServer, make_certificates

pytestmark = pytest.mark.django_db

TOKEN = "glpat-Acme0nlyT0ken-4f1c2b9e"


@pytest.fixture
def roots(tmp_path, settings, org, other_org, monkeypatch) -> dict[str, Path]:
    """One bound (LOCAL_PROJECT_ROOTS) with a root for each organization."""
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)
    settings.DATA_DIR = tmp_path / "data"
    settings.WORKSPACES_DIR = tmp_path / "data" / "workspaces"
    bound = tmp_path / "projects"
    ours, theirs = bound / "acme", bound / "globex"
    for folder in (ours / "app", theirs / "secret-app"):
        folder.mkdir(parents=True)
        (folder / "README.md").write_text(f"{folder.name}\n")
    settings.LOCAL_PROJECT_ROOTS = [bound]
    tenant_services.set_local_roots(organization=org, actor=None, roots=[str(ours)])
    tenant_services.set_local_roots(organization=other_org, actor=None, roots=[str(theirs)])
    return {"ours": ours, "theirs": theirs, "data": tmp_path / "data", "tmp": tmp_path}


def create_local(client, path) -> object:
    body = {"name": "s", "project_type": "local", "local_path": str(path)}
    return client.post("/api/sessions/", body, format="json")


def assert_refused(response, rule: str, data: Path) -> None:
    assert response.status_code == 400, response.content
    assert rule in " ".join(response.json()["local_path"])
    assert not Session.objects.exists()
    assert not (data / "workspaces").exists()


def test_a_local_session_in_its_own_root_is_copied(api, member, roots):
    response = create_local(api(member), roots["ours"] / "app")
    assert response.status_code == 201, response.content
    session = services.prepare_session_workspace(session=Session.objects.get())
    assert (Path(session.project_path) / "README.md").read_text() == "app\n"


def test_another_organizations_local_root_is_refused(api, member, roots):
    assert_refused(
        create_local(api(member), roots["theirs"] / "secret-app"), "Local roots rule", roots["data"]
    )


def test_a_local_path_escaping_by_dot_dot_is_refused(api, member, roots):
    path = f"{roots['ours']}/app/../../globex/secret-app"
    assert_refused(create_local(api(member), path), "'..'", roots["data"])


def test_a_local_path_escaping_by_symlink_is_refused(api, member, roots):
    (roots["ours"] / "shortcut").symlink_to(roots["theirs"], target_is_directory=True)
    assert_refused(
        create_local(api(member), roots["ours"] / "shortcut" / "secret-app"),
        "Local roots rule",
        roots["data"],
    )


def test_an_organization_without_roots_has_no_local_sessions(api, member, roots, org):
    tenant_services.set_local_roots(organization=org, actor=None, roots=[])
    assert_refused(
        create_local(api(member), roots["ours"] / "app"), "no local roots", roots["data"]
    )


def test_a_root_taken_back_is_refused_at_clone_time_too(api, member, roots, org):
    assert create_local(api(member), roots["ours"] / "app").status_code == 201
    tenant_services.set_local_roots(organization=org, actor=None, roots=[])
    session = services.prepare_session_workspace(session=Session.objects.get())
    assert session.status == "error" and "no local roots" in session.status_reason
    assert not workspace_path(organization_id=org.pk, session_id=session.pk).exists()


# --- the organization's git credential in a clone -------------------------------------------


@pytest.fixture
def private_host(tmp_path, settings):
    """https://localhost:<port>/widgets.git, served only with the right Authorization."""
    certificates = make_certificates(tmp_path / "tls", ["localhost"])
    settings.GIT_CA_BUNDLE = str(certificates.ca_file)
    settings.GIT_ALLOWED_HOSTS = [*settings.GIT_ALLOWED_HOSTS, "localhost"]
    settings.GIT_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    work = tmp_path / "private-src"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "PRIVATE.md").write_text("acme's private code\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "private")
    served = tmp_path / "served"
    served.mkdir()
    git(served, "clone", "-q", "--bare", str(work), str(served / "widgets.git"))
    return served, certificates


def basic(token: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


def clone_as(user, url: str) -> Session:
    session = services.create_session(
        organization=user.organization,
        actor=user,
        name="private",
        project_type="github",
        github_repo=url,
    )
    return services.prepare_session_workspace(session=session)


def test_a_private_repository_is_cloned_with_the_organizations_own_credential(
    member, owner, outsider, roots, private_host
):
    served, certificates = private_host
    tenant_services.set_git_credential(
        organization=owner.organization, actor=owner, token=TOKEN, host="localhost"
    )
    with GitHttpsServer(served, certificates, required_authorization=basic(TOKEN)) as server:
        url = f"https://localhost:{server.port}/widgets.git"
        ours = clone_as(member, url)
        seen_by_ours = list(server.seen_authorization)
        server.seen_authorization.clear()
        theirs = clone_as(outsider, url)
    assert ours.status == "preparing", ours.status_reason
    assert (Path(ours.project_path) / "PRIVATE.md").read_text() == "acme's private code\n"
    assert basic(TOKEN) in seen_by_ours
    # Another organization's clone never carries acme's credential, and fails.
    assert theirs.status == "error"
    assert basic(TOKEN) not in server.seen_authorization
    assert not workspace_path(organization_id=theirs.organization_id, session_id=theirs.pk).exists()


def test_the_credential_goes_only_to_its_own_host(owner, member, roots, private_host):
    served, certificates = private_host
    tenant_services.set_git_credential(organization=owner.organization, actor=owner, token=TOKEN)
    with GitHttpsServer(served, certificates) as server:  # an open server on another host
        session = clone_as(member, f"https://localhost:{server.port}/widgets.git")
    assert session.status == "preparing", session.status_reason
    assert server.seen_authorization and not any(server.seen_authorization)


def test_the_token_never_reaches_an_error_message_or_a_log(
    owner, member, roots, private_host, caplog
):
    served, certificates = private_host
    tenant_services.set_git_credential(
        organization=owner.organization, actor=owner, token=TOKEN, host="localhost"
    )
    caplog.set_level(logging.DEBUG)
    # A careless server repeats the credential it got; git prints that as "remote: ...".
    with GitHttpsServer(served, certificates, mode="echo") as server:
        session = clone_as(member, f"https://localhost:{server.port}/widgets.git")
    assert session.status == "error"
    assert "denied for" in session.status_reason  # the server's words did arrive
    assert "[redacted]" in session.status_reason
    for text in (session.status_reason, caplog.text):
        assert TOKEN not in text
        assert basic(TOKEN).split()[1] not in text
