from __future__ import annotations

import os

import pytest

from sessions import services
from sessions.choices import Direction, SessionStatus
from sessions.models import CommandLog, Session
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


def github_session(user, **extra) -> Session:
    return new_session(user, **{"name": "fix the bug", **extra})


def test_member_creates_github_session(api, member):
    response = api(member).post(
        "/api/sessions/",
        {
            "name": "fix",
            "project_type": "github",
            "github_repo": "acme/widgets",
            "initial_prompt": "Fix the failing test",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "preparing"
    assert body["hook_token"] == ""  # a managed session takes no hook posts
    assert body["organization"] == "acme"
    assert body["created_by"] == "member"
    session = Session.objects.get(pk=body["id"])
    # The initial prompt is the first event of the session.
    assert [(m.seq, m.direction) for m in session.messages.all()] == [(1, Direction.USER)]


@pytest.mark.parametrize(
    "repo",
    [
        "acme/widgets",
        "https://github.com/acme/widgets.git",
        "https://gitlab.com/acme/widgets.git",
        "file://{mirrors}/widgets.git",
    ],
)
def test_github_repo_accepts_owner_name_and_allowed_urls(api, member, repo, settings, tmp_path):
    # The refused ones are in tests/sessions/test_sources.py.
    settings.GIT_FILE_ROOTS = [tmp_path / "mirrors"]
    repo = repo.format(mirrors=tmp_path / "mirrors")
    response = api(member).post(
        "/api/sessions/",
        {"name": "x", "project_type": "github", "github_repo": repo},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x", "project_type": "github", "github_repo": "not a repo"}, "github_repo"),
        ({"name": "x", "project_type": "github"}, "github_repo"),
        ({"name": "x", "project_type": "svn", "github_repo": "a/b"}, "project_type"),
        ({"name": "x", "project_type": "github", "github_repo": "a/b", "owner": 1}, "owner"),
        ({"name": "x", "project_type": "github", "github_repo": "a/b", "metadata": []}, "metadata"),
        ({"project_type": "github", "github_repo": "a/b"}, "name"),
        ({"name": "x", "project_type": "local", "local_path": "/etc"}, "local_path"),
        (
            {"name": "x", "project_type": "github", "github_repo": "a/b", "status": "running"},
            "status",
        ),
    ],
)
def test_bad_session_input_is_400_with_field(api, member, project_root, body, field):
    response = api(member).post("/api/sessions/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Session.objects.exists()


def test_local_session_inside_root(api, member, project_root):
    response = api(member).post(
        "/api/sessions/",
        {"name": "x", "project_type": "local", "local_path": str(project_root / "app")},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["local_path"] == str(project_root / "app")


@pytest.mark.parametrize("escape", ["dotdot", "symlink", "relative"])
def test_local_path_escaping_the_root_is_400(api, member, project_root, tmp_path, escape):
    outside = tmp_path / "secret"
    outside.mkdir()
    if escape == "dotdot":
        path = f"{project_root}/app/../../secret"
    elif escape == "symlink":
        os.symlink(outside, project_root / "link")
        path = str(project_root / "link")
    else:
        path = "app"
    response = api(member).post(
        "/api/sessions/",
        {"name": "x", "project_type": "local", "local_path": path},
        format="json",
    )
    assert response.status_code == 400
    assert "local_path" in response.json()
    assert not Session.objects.exists()


def test_viewer_cannot_create_or_stop(api, viewer, member):
    session = github_session(member)
    client = api(viewer)
    response = client.post(
        "/api/sessions/",
        {"name": "x", "project_type": "github", "github_repo": "a/b"},
        format="json",
    )
    assert response.status_code == 403
    assert client.post(f"/api/sessions/{session.pk}/stop/").status_code == 403
    assert client.patch(f"/api/sessions/{session.pk}/", {"name": "y"}).status_code == 403
    assert client.get(f"/api/sessions/{session.pk}/").status_code == 200


def test_outsider_gets_404_everywhere(api, outsider, member):
    session = github_session(member)
    client = api(outsider)
    for path in ["", "messages/", "logs/"]:
        assert client.get(f"/api/sessions/{session.pk}/{path}").status_code == 404
    assert client.patch(f"/api/sessions/{session.pk}/", {"name": "y"}).status_code == 404
    assert client.post(f"/api/sessions/{session.pk}/stop/").status_code == 404
    assert client.get("/api/sessions/").json()["count"] == 0
    session.refresh_from_db()
    assert (session.name, session.status) == ("fix the bug", SessionStatus.PREPARING)


def test_list_is_scoped_and_filtered(api, member, owner, outsider):
    github_session(member, name="a")
    stopped = github_session(owner, name="b")
    services.stop_session(session=stopped, actor=owner)
    github_session(outsider, name="theirs")
    client = api(member)
    assert {s["name"] for s in client.get("/api/sessions/").json()["results"]} == {"a", "b"}
    by_status = client.get("/api/sessions/?status=stopped").json()["results"]
    assert [s["name"] for s in by_status] == ["b"]
    by_creator = client.get("/api/sessions/?created_by=member").json()["results"]
    assert [s["name"] for s in by_creator] == ["a"]
    assert client.get("/api/sessions/?project_type=local").json()["count"] == 0
    assert client.get("/api/sessions/?status=bogus").status_code == 400


def test_patch_changes_name_and_metadata_only(api, member):
    session = github_session(member)
    client = api(member)
    response = client.patch(
        f"/api/sessions/{session.pk}/", {"name": "renamed", "metadata": {"k": 1}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "renamed"
    assert response.json()["metadata"] == {"k": 1}
    response = client.patch(f"/api/sessions/{session.pk}/", {"github_repo": "x/y"}, format="json")
    assert response.status_code == 400
    session.refresh_from_db()
    assert session.github_repo == "acme/widgets"


def test_stop_then_stop_again_is_409(api, member):
    session = github_session(member)
    client = api(member)
    response = client.post(f"/api/sessions/{session.pk}/stop/", {"reason": "done"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "stopped"
    assert response.json()["status_reason"] == "done"
    assert response.json()["ended_at"]
    again = client.post(f"/api/sessions/{session.pk}/stop/")
    assert again.status_code == 409
    assert "already ended" in again.json()["detail"]


def test_logs_page_by_seq_cursor(api, member):
    session = github_session(member, initial_prompt="go")
    for i in range(5):
        services.record_command(
            session=session, tool="Bash", input={"command": f"echo {i}"}, result=str(i)
        )
    client = api(member)
    first = client.get(f"/api/sessions/{session.pk}/logs/?limit=2").json()
    assert [row["seq"] for row in first["results"]] == [2, 3]
    assert first["has_more"] is True
    rest = client.get(f"/api/sessions/{session.pk}/logs/?after={first['next_after']}").json()
    assert [row["seq"] for row in rest["results"]] == [4, 5, 6]
    assert rest["has_more"] is False
    assert rest["results"][0]["input"] == {"command": "echo 2"}
    messages = client.get(f"/api/sessions/{session.pk}/messages/").json()
    assert [m["seq"] for m in messages["results"]] == [1]
    assert client.get(f"/api/sessions/{session.pk}/logs/?after=-1").status_code == 400
    assert client.get(f"/api/sessions/{session.pk}/logs/?limit=x").status_code == 400


def test_seq_is_shared_and_gap_free(member):
    session = github_session(member, initial_prompt="go")
    services.record_command(session=session, tool="Read", input={})
    services.record_message(session=session, direction=Direction.ASSISTANT, content="hi")
    seqs = sorted(
        [
            *session.messages.values_list("seq", flat=True),
            *CommandLog.objects.filter(session=session).values_list("seq", flat=True),
        ]
    )
    assert seqs == [1, 2, 3]
    session.refresh_from_db()
    assert session.last_seq == 3


def test_unknown_session_id_is_404(api, member):
    client = api(member)
    assert client.get("/api/sessions/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/api/sessions/not-a-uuid/").status_code == 404


def test_superuser_without_org_cannot_create_session(api, superuser):
    response = api(superuser).post(
        "/api/sessions/",
        {"name": "x", "project_type": "github", "github_repo": "a/b"},
        format="json",
    )
    assert response.status_code == 400
    assert not Session.objects.exists()


@pytest.mark.parametrize("ended", [SessionStatus.COMPLETED, SessionStatus.ERROR])
def test_stopping_an_ended_session_is_409_and_changes_nothing(api, member, ended):
    session = github_session(member)
    Session.objects.filter(pk=session.pk).update(status=ended, status_reason="over")
    response = api(member).post(f"/api/sessions/{session.pk}/stop/")
    assert response.status_code == 409, response.content
    assert f"already ended ({ended})" in response.json()["detail"]
    session.refresh_from_db()
    assert (session.status, session.status_reason) == (ended, "over")
