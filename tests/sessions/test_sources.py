"""Sources a session may start from, over the real API: each refused source is a 400 naming
its rule with nothing written (no session row, no workspace); an allowed one clones.

Real git, real folders, real DNS resolution (localhost resolves through the system's
resolver); only the tests marked as such substitute the resolver, to show what DNS alone
cannot: a second answer that changes (rebinding) and git connecting to the pinned address.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from sessions import services
from sessions.models import Session
from sessions.workspaces import sources
from sessions.workspaces.folders import WorkspaceError, prepare_workspace, workspace_path
from sessions.workspaces.git import Git
from tests.sessions.conftest import git
from tests.sessions.workspaces.git_server import GitHttpsServer, make_certificates

pytestmark = pytest.mark.django_db


@pytest.fixture
def places(tmp_path, settings, monkeypatch) -> dict[str, Path]:
    """DATA_DIR with its workspaces, a mirror folder in GIT_FILE_ROOTS with a repository,
    and a folder elsewhere; turns are not run (the workspace is prepared by the test)."""
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)
    settings.DATA_DIR = tmp_path / "data"
    settings.WORKSPACES_DIR = tmp_path / "data" / "workspaces"
    settings.AGENT_CONFIG_DIR = tmp_path / "data" / "claude"
    mirrors = tmp_path / "mirrors"
    make_repository(mirrors / "widgets")
    settings.GIT_FILE_ROOTS = [mirrors]
    elsewhere = tmp_path / "elsewhere"
    make_repository(elsewhere / "widgets")
    return {"data": tmp_path / "data", "mirrors": mirrors, "elsewhere": elsewhere}


def make_repository(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# widgets\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "first")
    return path


def create(client, **fields):
    body = {"name": "s", "project_type": "github", **fields}
    return client.post("/api/sessions/", body, format="json")


def assert_refused(response, field: str, rule: str, data: Path) -> None:
    assert response.status_code == 400, response.content
    message = " ".join(response.json()[field])
    assert rule in message, message
    assert not Session.objects.exists()
    workspaces = data / "workspaces"
    assert not workspaces.exists() or not any(workspaces.rglob("*"))


# --- refused git sources ------------------------------------------------------------------


def test_file_url_outside_git_file_roots_is_refused(api, member, places):
    url = (places["elsewhere"] / "widgets").as_uri()
    assert_refused(
        create(api(member), github_repo=url), "github_repo", "GIT_FILE_ROOTS", places["data"]
    )


def test_file_urls_are_off_when_git_file_roots_is_empty(api, member, places, settings):
    settings.GIT_FILE_ROOTS = []
    response = create(api(member), github_repo=(places["mirrors"] / "widgets").as_uri())
    assert_refused(response, "github_repo", "GIT_FILE_ROOTS, which is empty", places["data"])


def test_the_servers_own_checkout_is_refused(api, member, places):
    url = Path(django_settings.BASE_DIR).as_uri()
    assert_refused(
        create(api(member), github_repo=url), "github_repo", "GIT_FILE_ROOTS", places["data"]
    )


def test_another_organizations_workspace_is_refused_even_inside_git_file_roots(
    api, member, outsider, places, settings, tmp_path
):
    # An operator's slip: a file root that holds DATA_DIR. The DATA_DIR rule still holds.
    settings.GIT_FILE_ROOTS = [tmp_path]
    theirs = services.create_session(
        organization=outsider.organization,
        actor=outsider,
        name="theirs",
        project_type="github",
        github_repo=(places["mirrors"] / "widgets").as_uri(),
    )
    services.prepare_session_workspace(session=theirs)
    their_workspace = workspace_path(organization_id=theirs.organization_id, session_id=theirs.pk)
    assert (their_workspace / "README.md").exists()

    for url in (their_workspace.as_uri(), (places["data"] / "db.sqlite3").as_uri()):
        response = create(api(member), github_repo=url)
        assert response.status_code == 400, response.content
        assert "DATA_DIR rule" in response.json()["github_repo"][0]
    assert list(Session.objects.values_list("name", flat=True)) == ["theirs"]


def test_a_symlink_from_a_file_root_is_judged_by_its_target(api, member, places):
    (places["mirrors"] / "to-data").symlink_to(places["data"], target_is_directory=True)
    (places["mirrors"] / "to-elsewhere").symlink_to(places["elsewhere"], target_is_directory=True)
    places["data"].mkdir(parents=True, exist_ok=True)
    for link, rule in (("to-data", "DATA_DIR rule"), ("to-elsewhere", "GIT_FILE_ROOTS rule")):
        url = f"file://{places['mirrors']}/{link}/widgets"
        assert_refused(create(api(member), github_repo=url), "github_repo", rule, places["data"])


def test_dot_dot_in_a_file_url_is_refused(api, member, places):
    url = f"file://{places['mirrors']}/../elsewhere/widgets"
    assert_refused(create(api(member), github_repo=url), "github_repo", "'..'", places["data"])


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/acme/widgets.git",
        "https://[::1]/acme/widgets.git",
        "https://10.1.2.3/acme/widgets.git",
        "https://172.16.0.9/acme/widgets.git",
        "https://192.168.0.1/acme/widgets.git",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/acme/widgets.git",
        "https://[::ffff:127.0.0.1]/acme/widgets.git",
        "https://[fd00::1]/acme/widgets.git",
        "https://0.0.0.0/acme/widgets.git",
        "https://100.64.0.1/acme/widgets.git",
    ],
)
def test_loopback_link_local_and_private_addresses_are_refused(api, member, places, url):
    assert_refused(
        create(api(member), github_repo=url), "github_repo", "Private address rule", places["data"]
    )


@pytest.mark.parametrize(
    "url", ["https://2130706433/a/b.git", "https://127.1/a/b.git", "https://0x7f.1/a/b.git"]
)
def test_addresses_in_disguise_are_refused(api, member, places, url):
    assert_refused(
        create(api(member), github_repo=url), "github_repo", "in disguise", places["data"]
    )


def test_an_allowed_host_that_resolves_to_loopback_is_refused(api, member, places, settings):
    # Real resolution: localhost is 127.0.0.1 (and maybe ::1) on every machine.
    settings.GIT_ALLOWED_HOSTS = [*settings.GIT_ALLOWED_HOSTS, "localhost"]
    response = create(api(member), github_repo="https://localhost/acme/widgets.git")
    assert_refused(response, "github_repo", "Private address rule", places["data"])
    assert "loopback" in response.json()["github_repo"][0]


def test_a_host_allowed_to_be_private_is_accepted(api, member, places, settings):
    settings.GIT_ALLOWED_HOSTS = [*settings.GIT_ALLOWED_HOSTS, "localhost"]
    settings.GIT_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    response = create(api(member), github_repo="https://localhost/acme/widgets.git")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "url, rule",
    [
        ("https://evil.example/acme/widgets.git", "GIT_ALLOWED_HOSTS rule"),
        ("https://localhost/acme/widgets.git", "GIT_ALLOWED_HOSTS rule"),
        ("https://github.com.evil.example/acme/w.git", "GIT_ALLOWED_HOSTS rule"),
        ("http://github.com/acme/widgets.git", "Protocol rule"),
        ("ssh://git@github.com/acme/widgets.git", "Protocol rule"),
        ("git://github.com/acme/widgets.git", "Protocol rule"),
        ("git@github.com:acme/widgets.git", "Protocol rule"),
        ("github.com:acme/widgets.git", "Protocol rule"),
        ("ext::sh", "Protocol rule"),
        ("fd::3", "Protocol rule"),
        ("ftp://github.com/acme/widgets.git", "Protocol rule"),
        ("/srv/git/widgets.git", "Protocol rule"),
        ("https://user:secret@github.com/acme/widgets.git", "Credentials rule"),
        ("https://github.com@evil.example/acme/widgets.git", "Credentials rule"),
    ],
)
def test_disallowed_hosts_and_protocols_are_refused(api, member, places, url, rule):
    assert_refused(create(api(member), github_repo=url), "github_repo", rule, places["data"])


# --- allowed ------------------------------------------------------------------------------


def test_an_allowed_file_source_clones(api, member, places):
    response = create(api(member), github_repo=(places["mirrors"] / "widgets").as_uri())
    assert response.status_code == 201, response.content
    session = services.prepare_session_workspace(session=Session.objects.get())
    assert session.status == "preparing", session.status_reason
    assert (Path(session.project_path) / "README.md").read_text() == "# widgets\n"


def test_owner_name_under_a_file_base_url_follows_the_same_rules(api, member, places, settings):
    settings.GIT_BASE_URL = places["mirrors"].as_uri()
    response = create(api(member), github_repo="acme/widgets")
    assert response.status_code == 201, response.content
    settings.GIT_FILE_ROOTS = []
    response = create(api(member), github_repo="acme/widgets")
    assert_refused_again = response.status_code == 400
    assert assert_refused_again and "GIT_FILE_ROOTS" in response.json()["github_repo"][0]


# --- checked again at clone time -----------------------------------------------------------


def test_a_source_refused_since_creation_is_refused_at_clone_time_and_leaves_nothing(
    api, member, places, settings
):
    response = create(api(member), github_repo=(places["mirrors"] / "widgets").as_uri())
    assert response.status_code == 201
    settings.GIT_FILE_ROOTS = []  # the operator narrowed the rule meanwhile
    session = services.prepare_session_workspace(session=Session.objects.get())
    assert session.status == "error"
    assert "GIT_FILE_ROOTS" in session.status_reason
    assert not workspace_path(
        organization_id=session.organization_id, session_id=session.pk
    ).exists()


def test_dns_rebinding_is_caught_at_clone_time(places, settings, monkeypatch):
    """The resolver is substituted here: a host whose answer turns private after the check
    at creation (DNS rebinding) cannot be made with real DNS in a test."""
    settings.GIT_ALLOWED_HOSTS = ["git.rebinding.test"]
    answers = iter([("93.184.215.14",), ("127.0.0.1",)])
    monkeypatch.setattr(sources, "resolve", lambda host, port: next(answers))
    url = "https://git.rebinding.test/acme/widgets.git"
    assert sources.check_git_source(url).addresses == ("93.184.215.14",)
    with pytest.raises(WorkspaceError, match="Private address rule"):
        prepare_workspace(organization_id=1, session_id=1, project_type="github", github_repo=url)
    assert not workspace_path(organization_id=1, session_id=1).exists()


def test_git_connects_to_the_checked_address_not_to_its_own_lookup(
    places, settings, monkeypatch, tmp_path
):
    """git.pinned.test exists in no DNS: the clone works only because git connects to the
    address the rules checked (http.curloptResolve). The resolver is substituted to give
    that name an address, the one thing real DNS cannot do in a test."""
    certificates = make_certificates(tmp_path / "tls", ["git.pinned.test"])
    settings.GIT_CA_BUNDLE = str(certificates.ca_file)
    settings.GIT_ALLOWED_HOSTS = ["git.pinned.test"]
    settings.GIT_ALLOWED_PRIVATE_HOSTS = ["git.pinned.test"]
    monkeypatch.setattr(sources, "resolve", lambda host, port: ("127.0.0.1",))
    bare = tmp_path / "served" / "widgets.git"
    git(tmp_path, "clone", "-q", "--bare", str(places["mirrors"] / "widgets"), str(bare))
    with GitHttpsServer(bare.parent, certificates) as server:
        url = f"https://git.pinned.test:{server.port}/widgets.git"
        path = prepare_workspace(
            organization_id=1, session_id=uuid.uuid4().hex, project_type="github", github_repo=url
        )
    assert (path / "README.md").read_text() == "# widgets\n"


def test_git_does_not_follow_a_redirect(places, settings, tmp_path):
    """An allowed server that redirects elsewhere (it could be to 169.254.169.254): git stops
    at the redirect, and the place it points to never hears from it."""
    certificates = make_certificates(tmp_path / "tls", ["localhost"])
    settings.GIT_CA_BUNDLE = str(certificates.ca_file)
    settings.GIT_ALLOWED_HOSTS = ["localhost"]
    settings.GIT_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    bare = tmp_path / "served" / "widgets.git"
    git(tmp_path, "clone", "-q", "--bare", str(places["mirrors"] / "widgets"), str(bare))
    with (
        GitHttpsServer(bare.parent, certificates) as target,
        GitHttpsServer(
            bare.parent, certificates, redirect_to=f"https://127.0.0.1:{target.port}"
        ) as redirecting,
    ):
        url = f"https://localhost:{redirecting.port}/widgets.git"
        with pytest.raises(WorkspaceError, match="302"):
            prepare_workspace(
                organization_id=1, session_id=1, project_type="github", github_repo=url
            )
    assert redirecting.seen_authorization and not target.seen_authorization
    assert not workspace_path(organization_id=1, session_id=1).exists()


def test_git_runs_with_an_environment_built_from_an_allow_list(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "server-secret")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/agent.sock")
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -i /nonexistent/server-key")
    env = Git(protocol="https").environment(str(tmp_path))
    config_entries = ("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")
    assert {k for k in env if not k.startswith(config_entries)} == {
        "PATH",
        "HOME",
        "LC_ALL",
        "LANG",
        "GIT_TERMINAL_PROMPT",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_CONFIG_GLOBAL",
        "GIT_ALLOW_PROTOCOL",
    }
    assert env["HOME"] == str(tmp_path) and env["GIT_ALLOW_PROTOCOL"] == "https"
    config = Git(protocol="https").config()
    assert ("credential.helper", "") in config
    assert ("http.followRedirects", "false") in config


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1/acme/w.git",
        "https://github.com:99999/a/b.git",
        "file:///tmp/\\ud800",  # a lone surrogate, as raw JSON can carry it
        "https://g\\u00efthub.com/a/b.git",
    ],
)
def test_malformed_sources_are_400_not_500(api, member, places, url):
    body = '{"name": "s", "project_type": "github", "github_repo": "' + url + '"}'
    response = api(member).post("/api/sessions/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert not Session.objects.exists()


def test_a_host_dns_cannot_answer_now_is_checked_again_when_cloned(api, member, places, settings):
    settings.GIT_ALLOWED_HOSTS = ["git.invalid"]
    response = create(api(member), github_repo="https://git.invalid/acme/widgets.git")
    assert response.status_code == 201, response.content
    session = services.prepare_session_workspace(session=Session.objects.get())
    assert session.status == "error" and "Could not resolve the git host" in session.status_reason
