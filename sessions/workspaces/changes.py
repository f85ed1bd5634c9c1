"""What a session changed in its workspace: the files it added, modified and deleted against
the state the workspace started from, each with its unified diff.

The workspace is the agent's: arbitrary code ran in it, so nothing of it is trusted. Its own
`.git` (config, hooks, alternates, a `.git` file pointing elsewhere) is never read. Instead
the start is recorded, when the workspace is prepared and before the agent runs, in a
server-owned *baseline*: a separate git directory outside the workspace
(`<WORKSPACES_DIR>/../workspace-baselines/<org>/<session>`) holding one commit of the files
as prepared. git then runs with `--git-dir` = the baseline and `--work-tree` = the workspace,
with no system or global config and a config of ours that turns off everything that could
run a program or leave the workspace (fsmonitor, external diff, textconv, hooks, submodule
recursion). It reads the workspace's files as data only; `.gitignore` patterns are honoured
(data, no code), so build output ignored by the project stays out of the list.

The same baseline serves the three sources (a git clone, a local clone, a plain copy): it
records the files, not a commit of the source. Its cost is one hashing pass over the prepared
files and one zlib-compressed copy of them (no history), paid once per session.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

BASELINE_REF = "refs/orchestrator/baseline"
DEFAULT_TIMEOUT = 120  # seconds for one git command over a workspace
DEFAULT_MAX_FILES = 300  # files listed with their details
DEFAULT_MAX_FILE_DIFF_BYTES = 256 * 1024  # of one file's diff
DEFAULT_MAX_TOTAL_DIFF_BYTES = 4 * 1024 * 1024  # of all diffs together
# Larger files are not read for a diff at all: git names them as binary, with their sizes.
DEFAULT_MAX_DIFFED_FILE_BYTES = 8 * 1024 * 1024
_CHUNK = 64 * 1024
_SERVER = "orchestrator"


class ChangesUnavailable(Exception):
    """No changes can be computed; `code` says why (for the API's 409), the message what to
    do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class FileChange:
    path: str
    status: str  # added, modified, deleted, type_changed
    old_mode: str
    new_mode: str
    binary: bool = False
    additions: int | None = None  # None for binary files
    deletions: int | None = None
    old_size: int | None = None
    new_size: int | None = None
    diff: str = ""
    diff_truncated: bool = False

    @property
    def symlink(self) -> bool:
        return "120000" in (self.old_mode, self.new_mode)


@dataclass
class WorkspaceChanges:
    files: list[FileChange] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"added": 0, "modified": 0, "deleted": 0, "type_changed": 0}
    )
    additions: int = 0
    deletions: int = 0
    files_truncated: bool = False  # more files changed than are listed
    diff_truncated: bool = False  # the total diff cap cut or left out diffs


_STATUS = {"A": "added", "M": "modified", "D": "deleted", "T": "type_changed"}


# --- where baselines live -----------------------------------------------------------------


def baseline_path(workspace: Path) -> Path:
    """The baseline of the workspace WORKSPACES_DIR/<org>/<session>: a sibling tree of
    WORKSPACES_DIR, so it lives on the same disk and is never inside any workspace (nor in
    the agent's jail, which binds only its workspace)."""
    root = Path(settings.WORKSPACES_DIR).resolve()
    relative = Path(workspace).resolve().relative_to(root)  # ValueError if outside
    if len(relative.parts) != 2:
        raise ValueError(f"{workspace} is not a session workspace.")
    return root.parent / "workspace-baselines" / relative


def record_baseline(workspace: Path) -> Path:
    """Record the workspace's files as they are now (just prepared, before the agent runs)."""
    baseline = baseline_path(workspace)
    remove_baseline(workspace)
    baseline.mkdir(parents=True, mode=0o700)
    try:
        git = _BaselineGit(baseline, workspace)
        git.init()
        git.stage_everything()
        tree = git.run(["write-tree"]).strip()
        commit = git.run(["commit-tree", "-m", "Workspace as prepared", tree]).strip()
        git.run(["update-ref", BASELINE_REF, commit])
    except BaseException:
        shutil.rmtree(baseline, ignore_errors=True)
        raise
    return baseline


def remove_baseline(workspace: Path) -> bool:
    baseline = baseline_path(workspace)
    if not os.path.lexists(baseline):
        return False
    shutil.rmtree(baseline, ignore_errors=True)
    return True


# --- the changes ------------------------------------------------------------------------------


def workspace_changes(workspace: Path) -> WorkspaceChanges:
    """The workspace against its baseline, within the size caps (see the settings
    WORKSPACE_CHANGES_*). Memory stays bounded by the caps whatever the workspace holds."""
    git = _git_for(workspace)
    with git.scratch_index():
        git.stage_untracked_intent()
        changes = WorkspaceChanges()
        listed = _list_changes(git, changes)
        _attach_sizes(git, workspace, listed)
        _attach_diffs(git, listed, changes)
    changes.files = listed
    return changes


def _git_for(workspace: Path) -> _BaselineGit:
    workspace = Path(workspace)
    if not workspace.is_dir() or workspace.is_symlink():
        raise ChangesUnavailable(
            "workspace_missing",
            "The session's workspace no longer exists (it was cleaned up), so its changes "
            "cannot be shown.",
        )
    baseline = baseline_path(workspace)
    if not (baseline / "HEAD").is_file():
        raise ChangesUnavailable(
            "baseline_missing",
            "No record of the workspace's starting state exists (the workspace was prepared "
            "before changes were tracked, or recording it failed); changes cannot be shown.",
        )
    return _BaselineGit(baseline, workspace)


def _list_changes(git: _BaselineGit, changes: WorkspaceChanges) -> list[FileChange]:
    """Every changed file is counted; the first WORKSPACE_CHANGES_MAX_FILES are kept."""
    limit = _setting("WORKSPACE_CHANGES_MAX_FILES", DEFAULT_MAX_FILES)
    listed: list[FileChange] = []
    pending: FileChange | None = None
    index = 0  # numstat entries come after the raw ones, in the same order
    for token in git.stream_tokens(["diff", *_DIFF_OPTIONS, "--raw", "--numstat", "-z"]):
        if pending is not None:
            pending.path = token
            pending = None
        elif token.startswith(":"):
            old_mode, new_mode, _old, _new, letter = token[1:].split(" ")
            status = _STATUS.get(letter[:1], "modified")
            changes.counts[status] = changes.counts.get(status, 0) + 1
            pending = FileChange(path="", status=status, old_mode=old_mode, new_mode=new_mode)
            if len(listed) < limit:
                listed.append(pending)
            else:
                changes.files_truncated = True
        else:
            added, deleted, _path = token.split("\t", 2)
            if added != "-":
                changes.additions += int(added)
                changes.deletions += int(deleted)
            if index < len(listed):
                entry = listed[index]
                entry.binary = added == "-"
                if not entry.binary:
                    entry.additions, entry.deletions = int(added), int(deleted)
            index += 1
    return listed


def _attach_sizes(git: _BaselineGit, workspace: Path, listed: list[FileChange]) -> None:
    old = git.blob_sizes([entry.path for entry in listed if entry.status != "added"])
    for entry in listed:
        entry.old_size = old.get(entry.path)
        if entry.status != "deleted":
            entry.new_size = _size_inside(workspace, entry.path)


def _size_inside(workspace: Path, relative: str) -> int | None:
    """lstat of a file of the workspace; None if it went or a parent now leads outside (the
    agent may swap a folder for a link while we look)."""
    path = workspace / relative
    try:
        parent = path.parent.resolve(strict=True)
        if not (parent == workspace.resolve() or parent.is_relative_to(workspace.resolve())):
            return None
        return os.lstat(parent / path.name).st_size
    except (OSError, RuntimeError):
        return None


def _attach_diffs(git: _BaselineGit, listed: list[FileChange], changes: WorkspaceChanges) -> None:
    """One `git diff` for all files, read as a stream and cut at the caps: each file's part
    starts with a `diff --git` line, in the order of the listing."""
    if not listed:
        return
    caps = _DiffCaps()
    position, parts, header = -1, [], b""
    # closing(): leaving the loop early ends git at once, not whenever the generator goes.
    with contextlib.closing(git.stream_lines(["diff", *_DIFF_OPTIONS, "--patch"])) as diff:
        for line in diff:
            # A type change (a file become a link) comes as two parts under one same header.
            if line.startswith(b"diff --git ") and line != header:
                _finish(listed, position, parts)
                position, parts, header = position + 1, [], line
                caps.next_file()
                if position >= len(listed):
                    break
            if position < 0:
                continue
            kept = caps.fit(line)
            parts.append(kept)
            if len(kept) < len(line):
                listed[position].diff_truncated = True
            if caps.spent:
                changes.diff_truncated = True
                break  # nothing more fits: stop reading, git is ended
    _finish(listed, position, parts)
    for entry in listed[position + 1 :]:
        entry.diff_truncated = True


class _DiffCaps:
    """Bytes of diff left: for the current file and for the whole answer."""

    def __init__(self):
        self.per_file = _setting(
            "WORKSPACE_CHANGES_MAX_FILE_DIFF_BYTES", DEFAULT_MAX_FILE_DIFF_BYTES
        )
        self.total_left = _setting(
            "WORKSPACE_CHANGES_MAX_TOTAL_DIFF_BYTES", DEFAULT_MAX_TOTAL_DIFF_BYTES
        )
        self.file_left = self.per_file

    def next_file(self) -> None:
        self.file_left = self.per_file

    def fit(self, line: bytes) -> bytes:
        kept = line[: max(0, min(self.file_left, self.total_left))]
        self.file_left -= len(kept)
        self.total_left -= len(kept)
        return kept

    @property
    def spent(self) -> bool:
        return self.total_left <= 0


def _finish(listed: list[FileChange], position: int, parts: list[bytes]) -> None:
    if 0 <= position < len(listed):
        listed[position].diff = b"".join(parts).decode("utf-8", errors="replace")


# --- git, kept away from the workspace's own repository -----------------------------------

_NEUTRAL_ATTRIBUTES = (
    "* !filter !diff !merge -text !eol !working-tree-encoding -ident !export-ignore !export-subst\n"
)
_UNTRACKED = ["ls-files", "--others", "--exclude-standard", "-z"]
_DIFF_OPTIONS = [
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--ignore-submodules=all",
    BASELINE_REF,
]


class _BaselineGit:
    def __init__(self, baseline: Path, workspace: Path):
        self.baseline = Path(baseline)
        self.workspace = Path(workspace)
        self.index = self.baseline / "index"

    def environment(self) -> dict[str, str]:
        config = [
            # Nothing that runs a program: no fsmonitor daemon, hooks, pager, filters,
            # external diff or credential helper, whatever a .gitattributes asks for.
            ("core.fsmonitor", "false"),
            ("core.hooksPath", os.devnull),
            ("core.pager", "cat"),
            ("core.attributesFile", os.devnull),
            ("core.excludesFile", os.devnull),
            ("core.untrackedCache", "false"),
            ("core.symlinks", "true"),  # a link is recorded as a link, never followed
            ("core.bigFileThreshold", str(_max_diffed_file_bytes())),
            ("credential.helper", ""),
            ("protocol.allow", "never"),
            ("diff.ignoreSubmodules", "all"),
            ("submodule.recurse", "false"),
            ("status.submoduleSummary", "false"),
            ("gc.auto", "0"),
            # The workspace may belong to the jail's user; the baseline is ours.
            ("safe.directory", "*"),
        ]
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.baseline),
            "LC_ALL": "C",
            "LANG": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_DIR": str(self.baseline),
            "GIT_WORK_TREE": str(self.workspace),
            "GIT_INDEX_FILE": str(self.index),
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_NO_REPLACE_OBJECTS": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_PAGER": "cat",
            "GIT_AUTHOR_NAME": _SERVER,
            "GIT_AUTHOR_EMAIL": f"{_SERVER}@localhost",
            "GIT_COMMITTER_NAME": _SERVER,
            "GIT_COMMITTER_EMAIL": f"{_SERVER}@localhost",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for number, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{number}"] = key
            env[f"GIT_CONFIG_VALUE_{number}"] = value
        return env

    def run(self, args: list[str], *, stdin: bytes = b"") -> str:
        try:
            result = subprocess.run(
                ["git", *args],
                input=stdin,
                capture_output=True,
                timeout=_setting("WORKSPACE_CHANGES_TIMEOUT", DEFAULT_TIMEOUT),
                env=self.environment(),
                cwd=self.baseline,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ChangesUnavailable(
                "timeout", "Reading the workspace's changes took too long."
            ) from exc
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()[-500:]
            raise ChangesUnavailable("git_failed", f"git could not read the changes: {message}")
        return result.stdout.decode(errors="surrogateescape")

    def init(self) -> None:
        environment = self.environment()
        del environment["GIT_WORK_TREE"]  # git refuses a work tree for a bare repository
        subprocess.run(
            ["git", "init", "-q", "--bare", "--template=", str(self.baseline)],
            env=environment,
            capture_output=True,
            check=True,
            timeout=_setting("WORKSPACE_CHANGES_TIMEOUT", DEFAULT_TIMEOUT),
        )
        # $GIT_DIR/info/attributes outranks every .gitattributes in the work tree: the
        # agent's cannot ask for filters, encodings, end-of-line rewriting or diff drivers.
        info = self.baseline / "info"
        info.mkdir(exist_ok=True)
        (info / "attributes").write_text(_NEUTRAL_ATTRIBUTES)

    def stage_everything(self) -> None:
        """Add the workspace's files (honouring .gitignore) to the baseline's index."""
        self._add_untracked([])

    def stage_untracked_intent(self) -> None:
        """New files the agent made enter the scratch index as intent-to-add: the diff then
        shows them as added, without writing their content into the baseline."""
        self._add_untracked(["-N"])

    def _add_untracked(self, options: list[str]) -> None:
        """`git add` of what `git ls-files --others` lists, piped through: however many
        files the agent made, the list is never held in memory."""
        with tempfile.TemporaryFile() as errors:
            adder = subprocess.Popen(
                ["git", "add", *options, "--pathspec-from-file=-", "--pathspec-file-nul"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=self.environment(),
                cwd=self.baseline,
            )
            sent = 0
            try:
                for path in self.stream_raw_tokens(_UNTRACKED):
                    # A path ending in '/' is a nested repository: git would read its HEAD
                    # (its .git may point anywhere on the server), so it is left out.
                    if path and not path.endswith(b"/"):
                        adder.stdin.write(path + b"\0")
                        sent += 1
                adder.stdin.close()
                code = adder.wait(timeout=_setting("WORKSPACE_CHANGES_TIMEOUT", DEFAULT_TIMEOUT))
            except BaseException as exc:
                adder.kill()
                adder.wait()
                if isinstance(exc, (OSError, subprocess.TimeoutExpired)):
                    raise ChangesUnavailable("git_failed", "git could not list new files.") from exc
                raise
            errors.seek(0)
            message = errors.read()[-500:].decode(errors="replace").strip()
        if code != 0 and sent:  # with nothing to add, git's complaint is no failure
            raise ChangesUnavailable("git_failed", f"git could not read the changes: {message}")

    @contextlib.contextmanager
    def scratch_index(self) -> Iterator[None]:
        """A copy of the baseline's index for one request, so requests never meet. It keeps
        the stat data of the prepared files: git rehashes only files whose size or times
        changed."""
        original = self.index
        scratch = original.with_name(f"index-{uuid.uuid4().hex}")
        if original.exists():  # an empty workspace left no index
            shutil.copyfile(original, scratch)
        self.index = scratch
        try:
            yield
        finally:
            scratch.unlink(missing_ok=True)
            self.index = original

    def blob_sizes(self, paths: list[str]) -> dict[str, int]:
        if not paths:
            return {}
        # cat-file reads one name a line: a name holding a newline goes without a size.
        paths = [path for path in paths if "\n" not in path]
        request = b"".join(
            f"{BASELINE_REF}:{path}\n".encode("utf-8", "surrogateescape") for path in paths
        )
        answer = self.run(["cat-file", "--batch-check=%(objectsize)"], stdin=request)
        sizes = {}
        for path, line in zip(paths, answer.splitlines(), strict=False):
            if line.isdigit():
                sizes[path] = int(line)
        return sizes

    def stream_lines(self, args: list[str]) -> Iterator[bytes]:
        with self._popen(args) as process:
            yield from process.stdout
            # A consumer that stops early leaves git blocked on a full pipe: end it.

    def stream_tokens(self, args: list[str]) -> Iterator[str]:
        for token in self.stream_raw_tokens(args):
            yield token.decode("utf-8", errors="surrogateescape")

    def stream_raw_tokens(self, args: list[str]) -> Iterator[bytes]:
        """The NUL-separated output of a `-z` command, a token at a time."""
        pending = b""
        with self._popen(args) as process:
            while chunk := process.stdout.read(_CHUNK):
                pending += chunk
                *tokens, pending = pending.split(b"\0")
                yield from tokens
        if pending:
            yield pending

    def _popen(self, args: list[str]) -> _Streamed:
        return _Streamed(["git", *args], env=self.environment(), cwd=self.baseline)


class _Streamed:
    """A git process read as a stream: killed at the timeout or when the reader stops."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path):
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            cwd=cwd,
        )
        self.timed_out = False
        timeout = _setting("WORKSPACE_CHANGES_TIMEOUT", DEFAULT_TIMEOUT)
        self.timer = threading.Timer(timeout, self._expire)
        self.timer.start()

    def _expire(self) -> None:
        self.timed_out = True
        self.process.kill()

    def __enter__(self):
        return self.process

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is not None:
            # The reader stopped early (a cap) or failed: git would block on a full pipe.
            self.process.kill()
        self.process.stdout.close()
        code = self.process.wait()  # the timer still ends a git that hangs
        self.timer.cancel()
        self.stderr.seek(0)
        message = self.stderr.read()[-500:].decode(errors="replace").strip()
        self.stderr.close()
        if exc_type is not None:
            return False
        if self.timed_out:
            raise ChangesUnavailable("timeout", "Reading the workspace's changes took too long.")
        if code != 0:
            raise ChangesUnavailable("git_failed", f"git could not read the changes: {message}")
        return False


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def limits() -> dict[str, int]:
    return {
        "max_files": _setting("WORKSPACE_CHANGES_MAX_FILES", DEFAULT_MAX_FILES),
        "max_file_diff_bytes": _setting(
            "WORKSPACE_CHANGES_MAX_FILE_DIFF_BYTES", DEFAULT_MAX_FILE_DIFF_BYTES
        ),
        "max_total_diff_bytes": _setting(
            "WORKSPACE_CHANGES_MAX_TOTAL_DIFF_BYTES", DEFAULT_MAX_TOTAL_DIFF_BYTES
        ),
        "max_diffed_file_bytes": _max_diffed_file_bytes(),
    }


def _max_diffed_file_bytes() -> int:
    return _setting("WORKSPACE_CHANGES_MAX_DIFFED_FILE_BYTES", DEFAULT_MAX_DIFFED_FILE_BYTES)


# --- the archive --------------------------------------------------------------------------


def archive_chunks(workspace: Path, *, include_git: bool = False) -> Iterator[bytes]:
    """The workspace as a tar.gz, produced as it is read (memory stays at a few chunks).

    The walk holds a file descriptor per folder and opens each name relative to it with
    O_NOFOLLOW, so a folder the agent swaps for a link mid-walk cannot lead out of the
    workspace. Links are stored as links; sockets, pipes and devices are skipped. The
    workspace's own `.git` is left out unless `include_git`."""
    workspace = Path(workspace)
    if not workspace.is_dir() or workspace.is_symlink():
        raise ChangesUnavailable("workspace_missing", "The session's workspace no longer exists.")
    return _archive(workspace, include_git)


def _archive(workspace: Path, include_git: bool) -> Iterator[bytes]:
    sink = _Sink()
    root_fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    top = workspace.name
    try:
        with tarfile.open(fileobj=sink, mode="w|gz", format=tarfile.PAX_FORMAT) as archive:
            for info, content in _members(root_fd, top, include_git=include_git):
                if content is None:
                    archive.addfile(info)
                else:
                    with content:
                        yield from _add_file(archive, info, content, sink)
                archive.members.clear()  # kept by tarfile for nothing when writing
                yield from sink.drain()
        yield from sink.drain()
    finally:
        os.close(root_fd)


def _add_file(archive: tarfile.TarFile, info: tarfile.TarInfo, content, sink) -> Iterator[bytes]:
    """TarFile.addfile, but handing out the compressed bytes as the file is read: addfile
    would hold a whole (maybe huge) file's worth of them before the first is sent."""
    header = info.tobuf(archive.format, archive.encoding, archive.errors)
    archive.fileobj.write(header)
    left = info.size
    while left > 0:
        chunk = content.read(min(_CHUNK, left))
        archive.fileobj.write(chunk)
        left -= len(chunk)
        yield from sink.drain()
    blocks, remainder = divmod(info.size, tarfile.BLOCKSIZE)
    if remainder:
        archive.fileobj.write(tarfile.NUL * (tarfile.BLOCKSIZE - remainder))
        blocks += 1
    archive.offset += len(header) + blocks * tarfile.BLOCKSIZE


class _Sink(io.RawIOBase):
    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> Iterator[bytes]:
        chunks, self.chunks = self.chunks, []
        if chunks:
            yield b"".join(chunks)


def _members(dir_fd: int, prefix: str, *, include_git: bool, top: bool = True):
    yield _info(prefix, os.fstat(dir_fd), tarfile.DIRTYPE), None
    for name in sorted(os.listdir(dir_fd)):
        if top and name == ".git" and not include_git:
            continue
        arcname = f"{prefix}/{name}"
        try:
            info = os.lstat(name, dir_fd=dir_fd)
            if stat.S_ISDIR(info.st_mode):
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
                try:
                    yield from _members(child, arcname, include_git=include_git, top=False)
                finally:
                    os.close(child)
            elif stat.S_ISLNK(info.st_mode):
                member = _info(arcname, info, tarfile.SYMTYPE)
                member.linkname = os.readlink(name, dir_fd=dir_fd)
                yield member, None
            elif stat.S_ISREG(info.st_mode):
                yield _regular(name, arcname, dir_fd)
        except (FileNotFoundError, NotADirectoryError, OSError) as exc:
            # Gone, or swapped for something else, while we read: leave it out.
            logger.info("Archive skipped %s: %s", arcname, exc)


def _regular(name: str, arcname: str, dir_fd: int):
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OSError("not a regular file")
    member = _info(arcname, info, tarfile.REGTYPE)
    member.size = info.st_size
    return member, _Exactly(os.fdopen(fd, "rb"), info.st_size)


class _Exactly(io.RawIOBase):
    """A file read as exactly `size` bytes: one that shrinks while archived is padded with
    zeros, one that grows is cut, so the archive stays well-formed."""

    def __init__(self, file, size: int):
        self.file, self.left = file, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        wanted = min(len(buffer), self.left)
        data = self.file.read(wanted) or b"\0" * wanted
        buffer[: len(data)] = data
        self.left -= len(data)
        return len(data)

    def close(self) -> None:
        self.file.close()
        super().close()


def _info(name: str, info: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.mode = stat.S_IMODE(info.st_mode)
    member.mtime = int(info.st_mtime)
    member.uname = member.gname = ""
    return member
