"""Session workspaces (sessions/workspaces.py) against real git and real folders, no mocks.

A bare repository under a file:// GIT_BASE_URL (inside GIT_FILE_ROOTS) plays GitHub; the
organization's local roots point at a temporary folder. No database is needed.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from sessions.workspaces.folders import (
    WorkspaceError,
    disk_usage,
    prepare_workspace,
    remove_workspace,
    workspace_path,
)
from sessions.workspaces.sources import repository_url

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def commit(repo: Path, name: str, content: str) -> str:
    (repo / name).write_text(content)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")
    return git(repo, "rev-parse", "HEAD")


@dataclass
class Remote:
    base_url: str  # file:// URL of the folder of bare repositories (GIT_BASE_URL)
    url: str  # file:// URL of acme/widget.git
    first: str  # sha of the first commit on main
    tip: str  # sha of main's tip
    feature: str  # sha of the feature branch's tip
    tag: str  # sha the tag v1 points at


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> Remote:
    """acme/widget: main with two commits, a branch `feature` with one more, a tag `v1`."""
    base = tmp_path_factory.mktemp("remotes")
    work = tmp_path_factory.mktemp("widget")
    git(work, "init", "-q")
    first = commit(work, "README.md", "widget\n")
    tip = commit(work, "main.py", "print('hi')\n")
    git(work, "tag", "v1", first)
    git(work, "checkout", "-q", "-b", "feature")
    feature = commit(work, "feature.py", "print('feature')\n")
    git(work, "checkout", "-q", "main")
    bare = base / "acme" / "widget.git"
    bare.parent.mkdir()
    git(base, "clone", "-q", "--bare", str(work), str(bare))
    return Remote(base.as_uri(), bare.as_uri(), first, tip, feature, first)


@pytest.fixture
def workspaces(tmp_path, settings, remote) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.WORKSPACES_DIR = tmp_path / "data" / "workspaces"
    settings.GIT_BASE_URL = remote.base_url
    settings.GIT_FILE_ROOTS = [Path(remote.base_url.removeprefix("file://"))]
    return settings.WORKSPACES_DIR


@pytest.fixture
def root(tmp_path, settings) -> Path:
    """The organization's only local root (inside LOCAL_PROJECT_ROOTS)."""
    root = tmp_path / "projects"
    root.mkdir()
    settings.LOCAL_PROJECT_ROOTS = [root.resolve()]
    return root.resolve()


def github(session_id, repo: str = "acme/widget", **options) -> Path:
    return prepare_workspace(
        organization_id=1,
        session_id=session_id,
        project_type="github",
        github_repo=repo,
        **options,
    )


def local(session_id, path: Path | str, roots=None) -> Path:
    from django.conf import settings

    return prepare_workspace(
        organization_id=1,
        session_id=session_id,
        project_type="local",
        local_path=str(path),
        local_roots=settings.LOCAL_PROJECT_ROOTS if roots is None else roots,
    )


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD")


# --- paths and URLs -----------------------------------------------------------------------


def test_workspace_path_is_org_then_session_under_workspaces_dir(workspaces):
    assert workspace_path(organization_id=7, session_id="abc") == workspaces.resolve() / "7" / "abc"


@pytest.mark.parametrize("session_id", ["..", "../../etc", "a/b", ".", ""])
def test_workspace_path_refuses_ids_that_would_leave_the_folder(workspaces, session_id):
    with pytest.raises(WorkspaceError):
        workspace_path(organization_id=1, session_id=session_id)


def test_repository_url_builds_owner_name_under_git_base_url(settings):
    settings.GIT_BASE_URL = "https://git.example.com"
    assert repository_url("acme/widget") == "https://git.example.com/acme/widget.git"
    assert repository_url("acme/widget.git") == "https://git.example.com/acme/widget.git"


def test_repository_url_refuses_what_is_neither(workspaces):
    with pytest.raises(WorkspaceError, match="Cannot clone"):
        github(1, repo="--upload-pack=touch /tmp/x")
    assert not workspace_path(organization_id=1, session_id=1).exists()


# --- github -------------------------------------------------------------------------------


def test_clones_owner_name_from_git_base_url(workspaces, remote):
    path = github(1)
    assert path == workspace_path(organization_id=1, session_id=1)
    assert head(path) == remote.tip
    assert (path / "main.py").read_text() == "print('hi')\n"


def test_clones_a_file_url(workspaces, remote):
    path = github(1, repo=remote.url)
    assert head(path) == remote.tip


def test_checks_out_a_branch(workspaces, remote):
    path = github(1, git_ref="feature")
    assert head(path) == remote.feature
    assert git(path, "branch", "--show-current") == "feature"


def test_checks_out_a_tag(workspaces, remote):
    path = github(1, git_ref="v1")
    assert head(path) == remote.tag
    assert not (path / "main.py").exists()


@pytest.mark.parametrize("length", [40, 10])
def test_checks_out_a_commit_sha(workspaces, remote, length):
    path = github(1, git_ref=remote.first[:length])
    assert head(path) == remote.first
    # Full history is there, so the agent can diff and branch from it.
    assert int(git(path, "rev-list", "--count", "--all")) == 3


def test_shallow_clone_has_one_commit(workspaces, remote):
    path = github(1, shallow=True)
    assert int(git(path, "rev-list", "--count", "HEAD")) == 1
    assert head(path) == remote.tip


def test_shallow_clone_of_a_branch_has_its_tip_only(workspaces, remote):
    path = github(1, git_ref="feature", shallow=True)
    assert head(path) == remote.feature
    assert int(git(path, "rev-list", "--count", "HEAD")) == 1


def test_shallow_is_ignored_for_a_commit_sha(workspaces, remote):
    path = github(1, git_ref=remote.first, shallow=True)
    assert head(path) == remote.first


def test_missing_repository_raises_with_gits_message_and_leaves_nothing(workspaces):
    with pytest.raises(WorkspaceError, match="does not appear to be a git repository"):
        github(1, repo="acme/missing")
    assert not workspace_path(organization_id=1, session_id=1).exists()


def test_unknown_ref_raises_and_leaves_nothing(workspaces):
    with pytest.raises(WorkspaceError, match="nope"):
        github(1, git_ref="nope")
    with pytest.raises(WorkspaceError, match="deadbeef"):
        github(1, git_ref="deadbeef")
    assert not workspace_path(organization_id=1, session_id=1).exists()


def test_a_ref_that_looks_like_an_option_is_refused(workspaces):
    with pytest.raises(WorkspaceError, match="not a valid"):
        github(1, git_ref="--upload-pack=touch pwned")
    assert not workspace_path(organization_id=1, session_id=1).exists()


def test_existing_non_empty_workspace_is_refused_and_kept(workspaces):
    path = workspace_path(organization_id=1, session_id=1)
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("keep me")
    with pytest.raises(WorkspaceError, match="already exists"):
        github(1)
    assert (path / "notes.txt").read_text() == "keep me"


def test_existing_empty_workspace_is_used(workspaces, remote):
    workspace_path(organization_id=1, session_id=1).mkdir(parents=True)
    assert head(github(1)) == remote.tip


# --- local --------------------------------------------------------------------------------


def test_local_git_folder_is_cloned_with_history_and_source_untouched(workspaces, root, remote):
    source = root / "widget"
    git(root, "clone", "-q", remote.url, str(source))
    (source / "main.py").write_text("uncommitted\n")
    before = snapshot(source)

    path = local(1, source)

    assert head(path) == remote.tip
    assert "add main.py" in git(path, "log", "--oneline")
    # Only the committed state is carried over.
    assert (path / "main.py").read_text() == "print('hi')\n"
    commit(path, "agent.py", "x\n")
    git(path, "checkout", "-q", "-b", "agent-work")
    assert snapshot(source) == before


def snapshot(repo: Path) -> tuple:
    """What a workspace must never change in its source repository."""
    return (
        git(repo, "for-each-ref"),
        git(repo, "worktree", "list", "--porcelain"),
        git(repo, "status", "--porcelain"),
        sorted(p.name for p in (repo / ".git").iterdir()),
    )


def test_local_git_folder_at_a_ref(workspaces, root, remote):
    source = root / "widget"
    git(root, "clone", "-q", remote.url, str(source))
    path = prepare_workspace(
        organization_id=1,
        session_id=1,
        project_type="local",
        local_path=str(source),
        git_ref="v1",
        local_roots=[root],
    )
    assert head(path) == remote.tag


def test_local_plain_folder_is_copied(workspaces, root):
    source = root / "app"
    (source / "src").mkdir(parents=True)
    (source / "README.md").write_text("hello\n")
    (source / "src" / "main.py").write_text("print(1)\n")
    (source / "src" / "link.py").symlink_to("main.py")

    path = local(1, source)

    assert (path / "README.md").read_text() == "hello\n"
    assert (path / "src" / "main.py").read_text() == "print(1)\n"
    assert os.readlink(path / "src" / "link.py") == "main.py"
    assert not (path / ".git").exists()


def test_symlink_out_of_the_root_is_copied_as_a_link_not_followed(workspaces, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    source = root / "app"
    source.mkdir()
    (source / "secret.txt").symlink_to(outside / "secret.txt")
    (source / "secrets").symlink_to(outside, target_is_directory=True)

    path = local(1, source)

    assert (path / "secret.txt").is_symlink()
    assert (path / "secrets").is_symlink()
    assert os.readlink(path / "secret.txt") == str(outside / "secret.txt")
    copied = [p for p in path.rglob("*") if not p.is_symlink()]
    assert all("TOP SECRET" not in p.read_text() for p in copied if p.is_file())


def test_missing_local_folder_raises_and_leaves_nothing(workspaces, root):
    with pytest.raises(WorkspaceError, match="does not exist"):
        local(1, root / "missing")
    assert not workspace_path(organization_id=1, session_id=1).exists()


def test_local_file_instead_of_a_folder_raises(workspaces, root):
    (root / "file.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="does not exist"):
        local(1, root / "file.txt")


def test_local_path_outside_the_roots_is_refused(workspaces, root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "sneaky").symlink_to(elsewhere, target_is_directory=True)
    for path in (elsewhere, root / "sneaky", f"{root}/../elsewhere", "relative/path"):
        with pytest.raises(WorkspaceError, match="Cannot use"):
            local(1, path)
    assert not workspace_path(organization_id=1, session_id=1).exists()


def test_local_sessions_are_refused_without_roots(workspaces, settings, tmp_path):
    with pytest.raises(WorkspaceError, match="no local roots"):
        local(1, tmp_path, roots=[])


def test_a_local_root_never_reaches_into_data_dir(workspaces, settings, tmp_path):
    github(1)
    # Even a root that holds DATA_DIR (an operator's slip) does not hand out a workspace.
    with pytest.raises(WorkspaceError, match="DATA_DIR rule"):
        local(2, workspace_path(organization_id=1, session_id=1), roots=[tmp_path])
    assert not workspace_path(organization_id=1, session_id=2).exists()


# --- remove -------------------------------------------------------------------------------


def test_remove_workspace_removes_and_is_idempotent(workspaces, remote):
    path = github(1)
    other = github(2)
    assert remove_workspace(path) is True
    assert not path.exists()
    assert remove_workspace(path) is False
    assert head(other) == remote.tip


def test_remove_workspace_handles_read_only_folders(workspaces, root):
    source = root / "app"
    source.mkdir()
    (source / "a.txt").write_text("a")
    path = local(1, source)
    (path / "a.txt").chmod(0o444)
    path.chmod(0o555)
    assert remove_workspace(path) is True
    assert not path.exists()


def test_remove_workspace_refuses_paths_outside_the_workspaces_folder(workspaces, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(WorkspaceError, match="outside"):
        remove_workspace(elsewhere)
    with pytest.raises(WorkspaceError, match="outside"):
        remove_workspace(workspaces / ".." / "elsewhere")
    assert elsewhere.exists()


def test_remove_workspace_refuses_the_organization_folder(workspaces):
    github(1)
    with pytest.raises(WorkspaceError, match="not a session workspace"):
        remove_workspace(workspaces / "1")
    assert workspace_path(organization_id=1, session_id=1).exists()


# --- disk usage ---------------------------------------------------------------------------


def test_disk_usage_counts_file_bytes_without_following_symlinks(tmp_path):
    (tmp_path / "big.bin").write_bytes(b"x" * 10_000)
    folder = tmp_path / "ws"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"a" * 100)
    (folder / "sub" / "b.txt").write_bytes(b"b" * 250)
    (folder / "sub" / "b-again.txt").hardlink_to(folder / "sub" / "b.txt")
    target = str(tmp_path / "big.bin")
    (folder / "link").symlink_to(target)

    assert disk_usage(folder) == 100 + 250 + len(target)


def test_disk_usage_is_zero_when_missing(tmp_path):
    assert disk_usage(tmp_path / "missing") == 0


def test_disk_usage_of_a_clone(workspaces):
    path = github(1)
    assert disk_usage(path) > len("widget\n") + len("print('hi')\n")
