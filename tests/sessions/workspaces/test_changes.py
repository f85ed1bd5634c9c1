"""What a session changed in its workspace, read through a server-owned baseline: the three
sources, the caps, an agent that tries to make the server run its code or read outside the
workspace, the archive, and no baseline left behind."""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from pathlib import Path

import pytest

from sessions.choices import ProjectType
from sessions.workspaces import changes, folders
from tests.sessions.conftest import git

ORG = uuid.UUID("00000000-0000-0000-0000-00000000000a")


@pytest.fixture
def workspaces(tmp_path, settings) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.WORKSPACES_DIR = tmp_path / "data" / "workspaces"
    return settings.WORKSPACES_DIR


@pytest.fixture
def projects(tmp_path, settings) -> Path:
    root = (tmp_path / "projects").resolve()
    (root / "plain").mkdir(parents=True)
    (root / "plain" / "notes.txt").write_text("one\ntwo\n")
    (root / "plain" / "old.txt").write_text("old\n")
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("print('hello')\n")
    (repo / "old.txt").write_text("old\n")
    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    settings.LOCAL_PROJECT_ROOTS = [root]
    settings.GIT_FILE_ROOTS = [root]
    return root


def prepare(projects: Path, source: str) -> Path:
    session_id = uuid.uuid4()
    common = {"organization_id": ORG, "session_id": session_id}
    if source == "clone":
        return folders.prepare_workspace(
            **common, project_type=ProjectType.GITHUB, github_repo=f"file://{projects / 'repo'}"
        )
    return folders.prepare_workspace(
        **common,
        project_type=ProjectType.LOCAL,
        local_path=str(projects / source),
        local_roots=[projects],
    )


def by_path(found: changes.WorkspaceChanges) -> dict[str, changes.FileChange]:
    return {entry.path: entry for entry in found.files}


@pytest.mark.parametrize("source", ["clone", "repo", "plain"])
def test_edits_new_files_and_deletions_are_listed_against_the_start(workspaces, projects, source):
    workspace = prepare(projects, source)
    first = "app.py" if source != "plain" else "notes.txt"
    (workspace / first).write_text((workspace / first).read_text() + "more\n")
    (workspace / "old.txt").unlink()
    (workspace / "src").mkdir()
    (workspace / "src" / "new.py").write_text("x = 1\ny = 2\n")

    found = changes.workspace_changes(workspace)

    files = by_path(found)
    assert {path: entry.status for path, entry in files.items()} == {
        first: "modified",
        "old.txt": "deleted",
        "src/new.py": "added",
    }
    assert files[first].additions == 1 and files[first].deletions == 0
    assert "+more" in files[first].diff
    assert "-old" in files["old.txt"].diff
    assert "+x = 1" in files["src/new.py"].diff and files["src/new.py"].additions == 2
    assert found.counts == {"added": 1, "modified": 1, "deleted": 1, "type_changed": 0}
    assert (found.additions, found.deletions) == (3, 1)
    assert not found.files_truncated and not found.diff_truncated


def test_nothing_changed_is_an_empty_list(workspaces, projects):
    workspace = prepare(projects, "clone")
    found = changes.workspace_changes(workspace)
    assert found.files == [] and sum(found.counts.values()) == 0


def test_the_agents_commits_do_not_hide_its_changes(workspaces, projects):
    # The baseline is the server's: committing, resetting or rewriting the workspace's own
    # history changes nothing about what is shown.
    workspace = prepare(projects, "clone")
    (workspace / "app.py").write_text("print('bye')\n")
    git(workspace, "commit", "-q", "-am", "agent's commit")
    git(workspace, "reflog", "expire", "--expire=now", "--all")
    assert [entry.path for entry in changes.workspace_changes(workspace).files] == ["app.py"]


def test_ignored_files_stay_out_and_binary_files_are_named_with_sizes(workspaces, projects):
    workspace = prepare(projects, "clone")
    (workspace / "debug.log").write_text("noise\n")
    (workspace / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0" + bytes(range(256)) * 4)

    files = by_path(changes.workspace_changes(workspace))

    assert "debug.log" not in files
    logo = files["logo.png"]
    assert logo.binary and logo.additions is None
    assert logo.new_size == 1034 and logo.old_size is None
    assert "Binary files" in logo.diff and "PNG" not in logo.diff


def test_caps_cut_diffs_and_the_file_list_and_say_so(workspaces, projects, settings):
    settings.WORKSPACE_CHANGES_MAX_FILE_DIFF_BYTES = 2_000
    settings.WORKSPACE_CHANGES_MAX_TOTAL_DIFF_BYTES = 3_000
    settings.WORKSPACE_CHANGES_MAX_FILES = 3
    workspace = prepare(projects, "clone")
    (workspace / "a_big.txt").write_text("".join(f"line {n}\n" for n in range(10_000)))
    for name in ("b.txt", "c.txt", "d.txt"):
        (workspace / name).write_text("small\n" * 200)

    found = changes.workspace_changes(workspace)

    assert [entry.path for entry in found.files] == ["a_big.txt", "b.txt", "c.txt"]
    assert found.files_truncated and found.counts["added"] == 4
    big = found.files[0]
    assert big.diff_truncated and len(big.diff.encode()) <= 2_000
    assert big.additions == 10_000  # the counts are whole; only the text is cut
    assert found.diff_truncated
    assert sum(len(entry.diff.encode()) for entry in found.files) <= 3_000
    assert found.files[2].diff_truncated


def test_files_over_the_diff_size_limit_are_treated_as_binary(workspaces, projects, settings):
    settings.WORKSPACE_CHANGES_MAX_DIFFED_FILE_BYTES = 10_000
    workspace = prepare(projects, "clone")
    (workspace / "huge.txt").write_text("text\n" * 5_000)
    huge = by_path(changes.workspace_changes(workspace))["huge.txt"]
    assert huge.binary and huge.new_size == 25_000 and "text" not in huge.diff


def test_the_agents_git_config_and_attributes_run_nothing_on_the_server(
    workspaces, projects, tmp_path
):
    workspace = prepare(projects, "clone")
    marker = tmp_path / "ran"
    script = workspace / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat /etc/passwd\n")
    script.chmod(0o755)
    (workspace / ".git" / "config").write_text(
        "[core]\n"
        f"\tfsmonitor = {script}\n"
        f"\tpager = {script}\n"
        f"\thooksPath = {workspace}\n"
        "[diff]\n"
        f"\texternal = {script}\n"
        '[diff "evil"]\n'
        f"\ttextconv = {script}\n"
        '[filter "evil"]\n'
        f"\tclean = {script}\n"
        f"\tsmudge = {script}\n"
    )
    (workspace / ".git" / "objects" / "info" / "alternates").write_text("/etc\n")
    (workspace / ".gitattributes").write_text("* diff=evil filter=evil\n")
    (workspace / "app.py").write_text("print('changed')\n")

    found = changes.workspace_changes(workspace)

    assert not marker.exists()
    files = by_path(found)
    assert "+print('changed')" in files["app.py"].diff
    assert "root:" not in "".join(entry.diff for entry in found.files)


def test_the_agents_gitattributes_change_nothing_in_what_is_shown(workspaces, projects):
    # -diff would hide the text as "binary"; an encoding or eol rewrite would show other bytes.
    workspace = prepare(projects, "clone")
    (workspace / ".gitattributes").write_text(
        "* -diff working-tree-encoding=UTF-16LE eol=crlf text ident\n"
    )
    (workspace / "app.py").write_text("print('$Id$')\n")

    app = by_path(changes.workspace_changes(workspace))["app.py"]

    assert not app.binary
    assert "+print('$Id$')\n" in app.diff and "\r" not in app.diff


def test_an_empty_start_shows_every_file_as_added(workspaces, projects):
    (projects / "empty").mkdir()
    workspace = prepare(projects, "empty")
    (workspace / "first.txt").write_text("1\n")
    found = changes.workspace_changes(workspace)
    assert [(entry.path, entry.status) for entry in found.files] == [("first.txt", "added")]


def test_a_link_to_a_server_file_is_shown_as_a_link(workspaces, projects):
    workspace = prepare(projects, "clone")
    (workspace / "passwd").symlink_to("/etc/passwd")
    (workspace / "app.py").unlink()
    (workspace / "app.py").symlink_to("/etc/passwd")  # a file become a link

    files = by_path(changes.workspace_changes(workspace))

    assert files["passwd"].symlink and files["passwd"].status == "added"
    assert "+/etc/passwd" in files["passwd"].diff
    assert files["app.py"].status == "type_changed" and files["app.py"].symlink
    assert "root:" not in files["passwd"].diff + files["app.py"].diff


def test_a_nested_repository_pointing_elsewhere_is_left_out(workspaces, projects, tmp_path):
    workspace = prepare(projects, "clone")
    (workspace / "vendor").mkdir()
    (workspace / "vendor" / ".git").write_text(f"gitdir: {tmp_path / 'elsewhere'}\n")
    git(workspace, "init", "-q", "empty-repo")
    (workspace / "app.py").write_text("print(1)\n")

    assert [entry.path for entry in changes.workspace_changes(workspace).files] == ["app.py"]


def test_the_agent_cannot_replace_the_baseline(workspaces, projects):
    workspace = prepare(projects, "clone")
    baseline = changes.baseline_path(workspace)
    assert not baseline.is_relative_to(workspace)
    assert not baseline.is_relative_to(workspaces)


def test_no_workspace_or_no_baseline_is_a_clear_reason(workspaces, projects):
    workspace = prepare(projects, "clone")
    changes.remove_baseline(workspace)
    with pytest.raises(changes.ChangesUnavailable) as missing_baseline:
        changes.workspace_changes(workspace)
    assert missing_baseline.value.code == "baseline_missing"
    folders.remove_workspace(workspace)
    with pytest.raises(changes.ChangesUnavailable) as missing:
        changes.workspace_changes(workspace)
    assert missing.value.code == "workspace_missing"


def test_removing_the_workspace_removes_its_baseline(workspaces, projects):
    workspace = prepare(projects, "plain")
    baseline = changes.baseline_path(workspace)
    assert (baseline / "HEAD").is_file()
    assert folders.remove_workspace(workspace)
    assert not baseline.exists()
    assert list((workspaces.parent / "workspace-baselines" / str(ORG)).iterdir()) == []


def test_a_failed_prepare_leaves_no_baseline(workspaces, projects):
    with pytest.raises(folders.WorkspaceError):
        folders.prepare_workspace(
            organization_id=ORG,
            session_id=uuid.uuid4(),
            project_type=ProjectType.GITHUB,
            github_repo=f"file://{projects / 'missing'}",
        )
    assert not any((workspaces.parent / "workspace-baselines").rglob("HEAD"))


def read_archive(workspace: Path, **options) -> tarfile.TarFile:
    data = b"".join(changes.archive_chunks(workspace, **options))
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def test_the_archive_holds_the_files_links_as_links_and_no_special_files(workspaces, projects):
    workspace = prepare(projects, "clone")
    (workspace / "src").mkdir()
    (workspace / "src" / "new.py").write_text("x = 1\n")
    (workspace / "passwd").symlink_to("/etc/passwd")
    (workspace / "etc").symlink_to("/etc")
    os.mkfifo(workspace / "pipe")

    archive = read_archive(workspace)

    members = {member.name: member for member in archive.getmembers()}
    top = workspace.name
    assert archive.extractfile(f"{top}/src/new.py").read() == b"x = 1\n"
    assert members[f"{top}/passwd"].issym() and members[f"{top}/passwd"].linkname == "/etc/passwd"
    assert members[f"{top}/etc"].issym()
    assert not any(name.startswith(f"{top}/etc/") for name in members)
    assert f"{top}/pipe" not in members
    assert f"{top}/.gitignore" in members
    assert not any(name.split("/")[1] == ".git" for name in members if "/" in name)
    assert all(name == top or name.startswith(f"{top}/") for name in members)


def test_the_archive_includes_git_when_asked(workspaces, projects):
    workspace = prepare(projects, "clone")
    names = read_archive(workspace, include_git=True).getnames()
    assert f"{workspace.name}/.git/HEAD" in names


def test_the_archive_is_handed_out_in_pieces_while_a_big_file_is_read(workspaces, projects):
    workspace = prepare(projects, "clone")
    (workspace / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # does not compress

    chunks = list(changes.archive_chunks(workspace))

    assert len(chunks) > 20 and max(len(chunk) for chunk in chunks) < 256 * 1024
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as archive:
        content = archive.extractfile(f"{workspace.name}/big.bin").read()
    assert content == (workspace / "big.bin").read_bytes()
