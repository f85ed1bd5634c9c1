"""GET /api/sessions/{id}/changes/ and /archive/: what a session changed in its workspace,
for whoever may view the session, with a clear 409 when there is no workspace to read."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from sessions import services
from sessions.choices import ProjectType, SessionMode
from sessions.models import Session
from sessions.workspaces import changes
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspaces(settings, tmp_path):
    settings.WORKSPACES_DIR = tmp_path / "data" / "workspaces"
    return settings.WORKSPACES_DIR


@pytest.fixture
def prepared(member, project_root, workspaces):
    """A local session of the member's, its workspace prepared from project_root/app."""
    session = new_session(
        member,
        project_type=ProjectType.LOCAL,
        github_repo="",
        local_path=str(project_root / "app"),
    )
    session = services.prepare_session_workspace(session=session)
    assert session.project_path, "the workspace was not prepared"
    return session


def workspace_of(session: Session) -> Path:
    return Path(session.project_path)


def changes_of(client, session: Session):
    return client.get(f"/api/sessions/{session.pk}/changes/")


def test_edits_untracked_files_and_deletions_are_listed(api, member, prepared):
    workspace = workspace_of(prepared)
    (workspace / "README.md").write_text("hello\nworld\n")
    (workspace / "notes").mkdir()
    (workspace / "notes" / "todo.txt").write_text("ship it\n")
    (workspace / "data.bin").write_bytes(b"\0\1\2\3" * 100)

    response = changes_of(api(member), prepared)

    assert response.status_code == 200, response.content
    body = response.json()
    files = {entry["path"]: entry for entry in body["files"]}
    assert files["README.md"]["status"] == "modified"
    assert (files["README.md"]["additions"], files["README.md"]["deletions"]) == (1, 0)
    assert "+world" in files["README.md"]["diff"]
    assert files["notes/todo.txt"]["status"] == "added"
    assert "+ship it" in files["notes/todo.txt"]["diff"]
    binary = files["data.bin"]
    assert binary["binary"] and binary["additions"] is None and binary["new_size"] == 400
    assert "\u0000" not in binary["diff"] and "Binary files" in binary["diff"]
    assert body["counts"] == {"added": 2, "modified": 1, "deleted": 0, "type_changed": 0}
    assert body["archive_url"] == f"/api/sessions/{prepared.pk}/archive/"
    assert not body["files_truncated"] and not body["diff_truncated"]

    (workspace / "README.md").unlink()
    files = {e["path"]: e for e in changes_of(api(member), prepared).json()["files"]}
    assert files["README.md"]["status"] == "deleted" and files["README.md"]["old_size"] == 6


def test_a_large_file_is_cut_at_the_cap_and_flagged(api, member, prepared, settings):
    settings.WORKSPACE_CHANGES_MAX_FILE_DIFF_BYTES = 4096
    (workspace_of(prepared) / "big.txt").write_text("".join(f"row {n}\n" for n in range(50_000)))

    body = changes_of(api(member), prepared).json()

    (big,) = body["files"]
    assert big["diff_truncated"] and len(big["diff"].encode()) <= 4096
    assert big["additions"] == 50_000
    assert body["limits"]["max_file_diff_bytes"] == 4096


def test_a_viewer_of_the_organization_may_read(api, viewer, prepared):
    assert changes_of(api(viewer), prepared).status_code == 200
    assert api(viewer).get(f"/api/sessions/{prepared.pk}/archive/").status_code == 200


def test_another_organizations_session_is_404(api, outsider, prepared):
    assert changes_of(api(outsider), prepared).status_code == 404
    assert api(outsider).get(f"/api/sessions/{prepared.pk}/archive/").status_code == 404


def test_anonymous_is_refused(api, prepared):
    assert changes_of(api(None), prepared).status_code in (401, 403)


def test_a_cleaned_up_workspace_is_409_with_the_reason(api, member, prepared):
    baseline = changes.baseline_path(workspace_of(prepared))
    assert baseline.is_dir()
    services.remove_session_workspace(session=prepared, actor="test", reason="done")
    assert not baseline.exists()  # no debris: the baseline goes with its workspace

    response = changes_of(api(member), prepared)

    assert response.status_code == 409
    assert response.json()["code"] == "workspace_missing"
    assert "cleaned up" in response.json()["detail"]
    archive = api(member).get(f"/api/sessions/{prepared.pk}/archive/")
    assert archive.status_code == 409


def test_a_workspace_not_prepared_yet_is_409(api, member, workspaces):
    session = new_session(member)  # preparing: the runner has not made its workspace yet
    response = changes_of(api(member), session)
    assert response.status_code == 409 and response.json()["code"] == "not_prepared"


def test_an_attached_session_has_no_workspace_here(api, member, workspaces):
    session = new_session(member, mode=SessionMode.ATTACHED)
    response = changes_of(api(member), session)
    assert response.status_code == 409 and response.json()["code"] == "attached"


def test_the_archive_is_a_streamed_tar_gz_of_the_workspace(api, member, prepared):
    (workspace_of(prepared) / "out.txt").write_text("result\n")
    (workspace_of(prepared) / "passwd").symlink_to("/etc/passwd")

    response = api(member).get(f"/api/sessions/{prepared.pk}/archive/")

    assert response.status_code == 200
    assert response.streaming and response["Content-Type"] == "application/gzip"
    assert "attachment" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    top = workspace_of(prepared).name
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert archive.extractfile(f"{top}/out.txt").read() == b"result\n"
        assert archive.extractfile(f"{top}/README.md").read() == b"hello\n"
        assert archive.getmember(f"{top}/passwd").issym()


def test_a_bad_archive_option_is_400(api, member, prepared):
    response = api(member).get(f"/api/sessions/{prepared.pk}/archive/?include_git=maybe")
    assert response.status_code == 400 and "include_git" in response.json()


def test_the_endpoints_are_in_the_schema(api, member):
    schema = api(member).get("/api/schema/?format=json").json()
    assert "/api/sessions/{session_id}/changes/" in schema["paths"]
    assert "/api/sessions/{session_id}/archive/" in schema["paths"]
    answers = schema["paths"]["/api/sessions/{session_id}/changes/"]["get"]["responses"]
    assert {"200", "404", "409"} <= set(answers)
