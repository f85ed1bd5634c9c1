"""Session workspaces: the folder a session's agent works in, made from a git repository or a
local project folder, and removed when the session is done.

Pure filesystem and git subprocesses: no models, no database writes. The runner calls
`prepare_workspace` before the agent starts and `remove_workspace` when the session ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from ..choices import ProjectType
from . import changes
from .git import Git, GitCredential, GitError
from .paths import PathOutsideRoot, resolve_inside
from .sources import (
    SERVER_FOLDERS_RULE,
    HostUnresolvable,
    SourceRefused,
    check_git_source,
    inside_server_folders,
)

logger = logging.getLogger(__name__)

_LOOKS_LIKE_SHA = re.compile(r"^[0-9a-fA-F]{4,64}$")
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class WorkspaceError(Exception):
    """A workspace could not be made or removed; the message is shown to the user."""


def workspace_path(*, organization_id, session_id) -> Path:
    """WORKSPACES_DIR/<organization_id>/<session_id>, guaranteed to lie inside WORKSPACES_DIR."""
    parts = (str(organization_id), str(session_id))
    # Ids are ints or UUIDs; anything else (a slash, a dot) could point somewhere else.
    if not all(_ID.match(part) for part in parts):
        raise WorkspaceError("Organization and session ids may only hold letters, digits, - and _.")
    root = _workspaces_root()
    path = (root / parts[0] / parts[1]).resolve()
    _require_inside_root(path, root)
    return path


def prepare_workspace(
    *,
    organization_id,
    session_id,
    project_type: str,
    github_repo: str = "",
    git_ref: str = "",
    local_path: str = "",
    shallow: bool = False,
    local_roots: Sequence[Path] = (),
    credential: GitCredential | None = None,
) -> Path:
    """Create the session's workspace and return its path.

    The source is checked again here, whatever was checked when the session was created:
    the organization's `local_roots` may have shrunk, and DNS may answer differently now.
    `credential` (the organization's) is used only when the source is on its host.

    On any failure whatever this call created is removed again and WorkspaceError is raised,
    so a retried session starts from a clean slate.
    """
    path = workspace_path(organization_id=organization_id, session_id=session_id)
    if project_type not in (ProjectType.GITHUB, ProjectType.LOCAL):
        raise WorkspaceError(f"Unknown project type {project_type!r}.")
    _check_ref(git_ref)
    # The source is judged before the folder is made: a refused one leaves nothing.
    if project_type == ProjectType.GITHUB:
        git, url = _git_for(github_repo, credential)
    else:
        source = _local_source(local_path, local_roots)
    created = _claim(path)
    try:
        if project_type == ProjectType.GITHUB:
            _clone(git, url, path, git_ref=git_ref, shallow=shallow)
        else:
            _copy_local(source, path, git_ref=git_ref)
    except GitError as exc:
        _undo(path, created)
        raise WorkspaceError(str(exc)) from exc
    except OSError as exc:  # a full disk, a permission, a file that vanished mid-copy
        _undo(path, created)
        raise WorkspaceError(f"Could not prepare the workspace: {exc}") from exc
    except BaseException:
        # BaseException too: a worker killed mid-clone must not leave half a checkout behind.
        _undo(path, created)
        raise
    _record_baseline(path)
    logger.info("Workspace %s prepared (%s)", path, project_type)
    return path


def _record_baseline(path: Path) -> None:
    """What the session starts from, for its "files changed". A failure costs only that
    view (it then says no baseline was recorded), never the session."""
    try:
        changes.record_baseline(path)
    except (changes.ChangesUnavailable, subprocess.SubprocessError, OSError) as exc:
        logger.warning("No baseline recorded for workspace %s: %s", path, exc)


def remove_workspace(path: Path) -> bool:
    """Remove a workspace folder; True if something was removed, False if it was already gone.

    Workspaces are made with `git clone`, never `git worktree add`, so no source repository
    holds a registration that would need pruning here.
    """
    root = _workspaces_root()
    target = Path(path).resolve()
    _require_inside_root(target, root)
    if target == root or target.parent == root:
        # An organization folder holds other sessions' workspaces; never take them with it.
        raise WorkspaceError(f"{target} is not a session workspace.")
    _remove_baseline(target)
    if not os.path.lexists(target):
        return False
    _rmtree(target)
    logger.info("Workspace %s removed", target)
    return True


def disk_usage(path: Path) -> int:
    """Bytes of the files under `path`; 0 when missing.

    Symlinks count as links (never followed), hard-linked files once, folders themselves not
    at all: the number is what the workspace holds, not how the filesystem lays it out.
    """
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return 0
    if not stat.S_ISDIR(top.st_mode):
        return top.st_size
    total = 0
    seen_inodes: set[tuple[int, int]] = set()  # a hard-linked file takes its space once
    pending = [os.fspath(path)]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    total += _entry_size(entry, seen_inodes, pending)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            # The agent may be deleting files while we count; a missing folder adds nothing.
            continue
    return total


def organization_usage(organization_id) -> tuple[int, int]:
    """(workspace folders, bytes under them) of one organization: what its quotas count.

    A walk of every file: run it from the periodic measuring job, never on a request."""
    if not _ID.match(str(organization_id)):
        raise WorkspaceError("Organization ids may only hold letters, digits, - and _.")
    folder = _workspaces_root() / str(organization_id)
    try:
        with os.scandir(folder) as entries:
            workspaces = [
                Path(entry.path) for entry in entries if entry.is_dir(follow_symlinks=False)
            ]
    except FileNotFoundError:
        return 0, 0
    return len(workspaces), sum(disk_usage(path) for path in workspaces)


# --- workspace folder ---------------------------------------------------------------------


def _workspaces_root() -> Path:
    return Path(settings.WORKSPACES_DIR).resolve()


def _require_inside_root(path: Path, root: Path) -> None:
    if not (path == root or path.is_relative_to(root)):
        raise WorkspaceError(f"{path} is outside the workspaces folder.")


def _claim(path: Path) -> bool:
    """Make the (empty) workspace folder; True if this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        if not path.is_dir() or any(path.iterdir()):
            raise WorkspaceError(
                f"The workspace {path} already exists and is not empty; remove it first."
            ) from None
        return False
    return True


def _remove_baseline(workspace: Path) -> None:
    # ValueError: deeper than <org>/<session>, so it never had a baseline.
    with contextlib.suppress(ValueError):
        changes.remove_baseline(workspace)


def _undo(path: Path, created: bool) -> None:
    """Remove what a failed prepare left; a folder that was there before stays, emptied."""
    _remove_baseline(path)
    if created:
        _rmtree(path, missing_ok=True)
    else:
        _empty(path)
    logger.info("Workspace %s cleaned up after a failed prepare", path)


def _empty(path: Path) -> None:
    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            _rmtree(child, missing_ok=True)
        else:
            child.unlink(missing_ok=True)


def _rmtree(path: Path, *, missing_ok: bool = False) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=missing_ok)
        return
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        if not missing_ok:
            raise
    except PermissionError:
        # The agent may have made folders read-only (chmod -w); we own them, so undo that.
        _make_folders_writable(path)
        shutil.rmtree(path)


def _make_folders_writable(path: Path) -> None:
    for folder, _dirs, _files in os.walk(path):  # os.walk never follows symlinks by default
        os.chmod(folder, stat.S_IRWXU)


def _entry_size(entry: os.DirEntry, seen_inodes: set[tuple[int, int]], pending: list) -> int:
    try:
        info = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return 0
    if entry.is_dir(follow_symlinks=False):
        pending.append(entry.path)
        return 0
    if info.st_nlink > 1:
        key = (info.st_dev, info.st_ino)
        if key in seen_inodes:
            return 0
        seen_inodes.add(key)
    return info.st_size


# --- git ----------------------------------------------------------------------------------


def _check_ref(git_ref: str) -> None:
    # A ref starting with '-' would be read by git as an option.
    if git_ref.startswith("-") or any(ch.isspace() or ord(ch) < 32 for ch in git_ref):
        raise WorkspaceError(f"{git_ref!r} is not a valid branch, tag or commit.")


def _git_for(github_repo: str, credential: GitCredential | None) -> tuple[Git, str]:
    """git bound to the checked source: its protocol, its addresses, its credential."""
    try:
        source = check_git_source(github_repo)
    except (SourceRefused, HostUnresolvable) as exc:
        raise WorkspaceError(f"Cannot clone {github_repo!r}: {exc}") from exc
    git = Git(
        protocol=source.protocol, host=source.host, pinned=source.pinned, credential=credential
    )
    return git, source.url


def _clone(
    git: Git,
    url: str,
    path: Path,
    *,
    git_ref: str,
    shallow: bool = False,
    options: Sequence[str] = (),
) -> None:
    depth = ["--depth", "1"] if shallow else []
    if not git_ref:
        git.run(["clone", *options, *depth, "--", url, str(path)], what=f"clone {url}")
        return
    try:
        # --branch takes branches and tags, and with --depth fetches only that one commit.
        git.run(
            ["clone", *options, *depth, "--branch", git_ref, "--", url, str(path)],
            what=f"clone {url} at {git_ref}",
        )
    except GitError:
        if not _LOOKS_LIKE_SHA.match(git_ref):
            raise
        # A commit sha is no branch: clone the whole history (a shallow clone may not hold
        # the commit) and check it out.
        _empty(path)
        if shallow:
            logger.info("Shallow clone ignored for commit %s of %s", git_ref, url)
        git.run(["clone", *options, "--no-checkout", "--", url, str(path)], what=f"clone {url}")
        _checkout_commit(git, path, git_ref)


def _checkout_commit(git: Git, path: Path, git_ref: str) -> None:
    try:
        git.run(["-C", str(path), "checkout", "--detach", git_ref], what=f"check out {git_ref}")
    except GitError:
        # A commit no branch or tag reaches (a pull request head, say) is not in the clone;
        # hosts like GitHub still serve it when asked for by its full sha.
        git.run(["-C", str(path), "fetch", "origin", git_ref], what=f"fetch {git_ref}")
        git.run(
            ["-C", str(path), "checkout", "--detach", "FETCH_HEAD"], what=f"check out {git_ref}"
        )


# --- local folders ------------------------------------------------------------------------


def _copy_local(source: Path, path: Path, *, git_ref: str) -> None:
    if (source / ".git").exists():
        _clone_local(source, path, git_ref=git_ref)
        return
    if git_ref:
        raise WorkspaceError(f"{source} is not a git repository, so it has no ref {git_ref!r}.")
    # symlinks=True copies each link as a link: a link that points out of the project root is
    # never followed, so nothing outside the root is read into the workspace.
    shutil.copytree(source, path, symlinks=True, ignore=_special_files, dirs_exist_ok=True)
    logger.info("Copied local folder %s into %s", source, path)


def _local_source(local_path: str, roots: Sequence[Path]) -> Path:
    """The resolved folder, if it is inside one of the organization's local roots."""
    if not roots:
        raise WorkspaceError(
            "Local sessions are disabled for this organization: it has no local roots."
        )
    try:
        source = resolve_inside(local_path, roots)
    except PathOutsideRoot as exc:
        raise WorkspaceError(f"Cannot use {local_path!r}: {exc}") from exc
    if inside_server_folders(source):
        raise WorkspaceError(f"Cannot use {local_path!r}: {SERVER_FOLDERS_RULE}")
    if not source.is_dir():
        raise WorkspaceError(f"The local folder {local_path} does not exist.")
    return source


def _clone_local(source: Path, path: Path, *, git_ref: str) -> None:
    # `git clone --local` rather than `git worktree add`: a worktree writes its registration
    # into the source repository's .git and shares its refs and index lock, so the agent's
    # commits and branches would land in the user's repository; a clone leaves the source
    # untouched and still carries the full history for diffs and branching.
    # --no-hardlinks copies the objects instead of linking them: the agent runs arbitrary
    # commands in the workspace, and a write to a hard-linked object would corrupt the source.
    # Only the committed state is cloned: uncommitted changes and untracked files stay behind.
    git = Git(protocol="file")
    _clone(git, str(source), path, git_ref=git_ref, options=["--local", "--no-hardlinks"])
    logger.info("Cloned local repository %s into %s", source, path)


def _special_files(folder: str, names: list[str]) -> list[str]:
    # Sockets, pipes and devices cannot be copied (copying a pipe would block on it).
    skipped = []
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.append(name)
    return skipped
