"""Session workspaces: the folder a session's agent works in, made from a git repository or a
local project folder, and removed when the session is done.

Pure filesystem and git subprocesses: no models, no database writes. The runner calls
`prepare_workspace` before the agent starts and `remove_workspace` when the session ends.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from ..choices import ProjectType
from ..validators import validate_github_repo
from .paths import PathOutsideRoot, resolve_inside

logger = logging.getLogger(__name__)

DEFAULT_GIT_TIMEOUT = 600  # seconds; a large repository over a slow link needs minutes
_STDERR_LIMIT = 1000  # characters of git's stderr kept in a user-visible message
_LOOKS_LIKE_SHA = re.compile(r"^[0-9a-fA-F]{4,64}$")
_URL_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")
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


def repository_url(github_repo: str) -> str:
    """The clone URL: "owner/name" under GIT_BASE_URL; a git URL is returned as it is."""
    try:
        value = validate_github_repo(github_repo)
    except ValidationError as exc:
        raise WorkspaceError(f"Cannot clone {github_repo!r}: {_first_message(exc)}") from exc
    # owner/name can hold neither ':' nor '@'; every URL form the validator accepts does.
    if ":" in value:
        return value
    name = value.removesuffix(".git")
    return f"{settings.GIT_BASE_URL}/{name}.git"


def prepare_workspace(
    *,
    organization_id,
    session_id,
    project_type: str,
    github_repo: str = "",
    git_ref: str = "",
    local_path: str = "",
    shallow: bool = False,
) -> Path:
    """Create the session's workspace and return its path.

    On any failure whatever this call created is removed again and WorkspaceError is raised,
    so a retried session starts from a clean slate.
    """
    path = workspace_path(organization_id=organization_id, session_id=session_id)
    if project_type not in (ProjectType.GITHUB, ProjectType.LOCAL):
        raise WorkspaceError(f"Unknown project type {project_type!r}.")
    _check_ref(git_ref)
    created = _claim(path)
    try:
        if project_type == ProjectType.GITHUB:
            _clone(repository_url(github_repo), path, git_ref=git_ref, shallow=shallow)
        else:
            _copy_local(local_path, path, git_ref=git_ref)
    except OSError as exc:  # a full disk, a permission, a file that vanished mid-copy
        _undo(path, created)
        raise WorkspaceError(f"Could not prepare the workspace: {exc}") from exc
    except BaseException:
        # BaseException too: a worker killed mid-clone must not leave half a checkout behind.
        _undo(path, created)
        raise
    logger.info("Workspace %s prepared (%s)", path, project_type)
    return path


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


def _undo(path: Path, created: bool) -> None:
    """Remove what a failed prepare left; a folder that was there before stays, emptied."""
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


def _clone(
    url: str, path: Path, *, git_ref: str, shallow: bool = False, options: Sequence[str] = ()
) -> None:
    depth = ["--depth", "1"] if shallow else []
    if not git_ref:
        _git(["clone", *options, *depth, "--", url, str(path)], what=f"clone {_redact(url)}")
        return
    try:
        # --branch takes branches and tags, and with --depth fetches only that one commit.
        _git(
            ["clone", *options, *depth, "--branch", git_ref, "--", url, str(path)],
            what=f"clone {_redact(url)} at {git_ref}",
        )
    except WorkspaceError:
        if not _LOOKS_LIKE_SHA.match(git_ref):
            raise
        # A commit sha is no branch: clone the whole history (a shallow clone may not hold
        # the commit) and check it out.
        _empty(path)
        if shallow:
            logger.info("Shallow clone ignored for commit %s of %s", git_ref, _redact(url))
        _git(
            ["clone", *options, "--no-checkout", "--", url, str(path)],
            what=f"clone {_redact(url)}",
        )
        _checkout_commit(path, git_ref)


def _checkout_commit(path: Path, git_ref: str) -> None:
    try:
        _git(["-C", str(path), "checkout", "--detach", git_ref], what=f"check out {git_ref}")
    except WorkspaceError:
        # A commit no branch or tag reaches (a pull request head, say) is not in the clone;
        # hosts like GitHub still serve it when asked for by its full sha.
        _git(["-C", str(path), "fetch", "origin", git_ref], what=f"fetch {git_ref}")
        _git(["-C", str(path), "checkout", "--detach", "FETCH_HEAD"], what=f"check out {git_ref}")


def _git(args: Sequence[str], *, what: str) -> subprocess.CompletedProcess:
    timeout = getattr(settings, "WORKSPACE_GIT_TIMEOUT", DEFAULT_GIT_TIMEOUT)
    try:
        result = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=_git_env(),
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise WorkspaceError("git is not installed on this server.") from exc
    except subprocess.TimeoutExpired as exc:
        raise WorkspaceError(f"git could not {what}: gave up after {timeout} s.") from exc
    if result.returncode != 0:
        raise WorkspaceError(f"git could not {what}: {_trim(result.stderr)}")
    return result


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never wait for a password or a host-key answer: nobody is at the terminal.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    # git's messages reach the user; keep them in one language so they read the same everywhere.
    env["LC_ALL"] = "C"
    return env


def _trim(stderr: str) -> str:
    # "Cloning into ..." is progress chatter that names a server path; the error is after it.
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith("Cloning into")
    ]
    text = _redact(" ".join(lines)) or "no error message."
    return text if len(text) <= _STDERR_LIMIT else "..." + text[-_STDERR_LIMIT:]


def _redact(text: str) -> str:
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def _first_message(exc: ValidationError) -> str:
    return " ".join(str(message) for message in exc.messages)


# --- local folders ------------------------------------------------------------------------


def _copy_local(local_path: str, path: Path, *, git_ref: str) -> None:
    source = _local_source(local_path)
    if (source / ".git").exists():
        _clone_local(source, path, git_ref=git_ref)
        return
    if git_ref:
        raise WorkspaceError(f"{source} is not a git repository, so it has no ref {git_ref!r}.")
    # symlinks=True copies each link as a link: a link that points out of the project root is
    # never followed, so nothing outside the root is read into the workspace.
    shutil.copytree(source, path, symlinks=True, ignore=_special_files, dirs_exist_ok=True)
    logger.info("Copied local folder %s into %s", source, path)


def _local_source(local_path: str) -> Path:
    roots = settings.LOCAL_PROJECT_ROOTS
    if not roots:
        raise WorkspaceError("Local sessions are disabled: LOCAL_PROJECT_ROOTS is not set.")
    try:
        source = resolve_inside(local_path, roots)
    except PathOutsideRoot as exc:
        raise WorkspaceError(f"Cannot use {local_path!r}: {exc}") from exc
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
    _clone(str(source), path, git_ref=git_ref, options=["--local", "--no-hardlinks"])
    logger.info("Cloned local repository %s into %s", source, path)


def _special_files(folder: str, names: list[str]) -> list[str]:
    # Sockets, pipes and devices cannot be copied (copying a pipe would block on it).
    skipped = []
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.append(name)
    return skipped
