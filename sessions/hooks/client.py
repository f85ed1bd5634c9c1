"""Claude Code ``command`` hook that forwards hook events to claude-orchestrator.

Claude Code runs this once per hook event with the event JSON on stdin. The
client POSTs that JSON to ``{url}/api/hooks/`` and, for ``PreToolUse``, prints
the orchestrator's permission decision on stdout in Claude Code's own format.

Install it with the package (console script ``claude-orchestrator-hook``) or
run this file directly; it uses the standard library only and runs on any
Python >= 3.8::

    python3 path/to/hook_client.py --url http://host:8000 --token TOKEN

Example ``.claude/settings.json``::

    {"hooks": {
      "PreToolUse": [{"matcher": "*", "hooks": [{"type": "command",
        "command": "claude-orchestrator-hook --url http://host:8000 --token TOKEN"}]}],
      "PostToolUse": [{"matcher": "*", "hooks": [{"type": "command",
        "command": "claude-orchestrator-hook --url http://host:8000 --token TOKEN"}]}],
      "Stop": [{"hooks": [{"type": "command",
        "command": "claude-orchestrator-hook --url http://host:8000 --token TOKEN"}]}]
    }}

Options (flag / environment variable):

* ``--url`` / ``ORCHESTRATOR_URL``: orchestrator base URL.
* ``--token`` / ``ORCHESTRATOR_HOOK_TOKEN``: the session's hook token.
* ``--spool-dir`` / ``ORCHESTRATOR_HOOK_SPOOL_DIR``: where undelivered events
  wait (default ``~/.cache/claude-orchestrator/spool``).
* ``--timeout`` / ``ORCHESTRATOR_HOOK_TIMEOUT``: seconds per HTTP request (5).
* ``--fail-closed`` / ``ORCHESTRATOR_HOOK_FAIL_CLOSED=1``: deny ``PreToolUse``
  when the orchestrator cannot give an answer (default: fail open).

Delivery: every event gets a client event id (``X-Hook-Event-Id``) so the
server can drop replays. When the server is unreachable (connection error,
timeout, 5xx) the event is appended to a JSONL spool file, one per
(url, token) pair and named by a hash so the token never shows in a file name.
Every call first replays the spool in order, then sends its own event, so the
server sees events in the order Claude Code produced them; replayed posts carry
``X-Hook-Replay: 1`` (the server counts them for its delivery health). A 4xx is a
permanent rejection: it is logged to stderr and dropped.

The client never blocks Claude Code by accident: it always exits 0, writes
diagnostics to stderr only, and prints to stdout only a decision Claude Code
understands (or nothing, which lets the normal permission flow continue).
"""

# The sys.path fix below must run before the other imports.
# ruff: noqa: E402
from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # Run as a plain file, Python puts this file's directory (the `sessions`
    # package) first on sys.path, so modules there such as sessions/selectors.py
    # would shadow the standard library (http.client -> socket -> selectors).
    _HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]

import argparse
import contextlib
import hashlib
import http.client
import json
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

try:  # POSIX only; without it concurrent hooks are not serialised (best effort).
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PROG = "claude-orchestrator-hook"
HOOKS_PATH = "/api/hooks/"
DEFAULT_SPOOL_DIR = "~/.cache/claude-orchestrator/spool"
DEFAULT_TIMEOUT = 5.0
# Replaying a long spool against a slow server must not eat Claude Code's own
# hook timeout; whatever is left stays spooled for the next call.
REPLAY_BUDGET_FACTOR = 3
FAIL_CLOSED_REASON = "claude-orchestrator unreachable; failing closed"
# Keys of Claude Code's hook output. Server bookkeeping such as "ok"/"seq" is
# not forwarded: stdout is parsed by Claude Code, not by humans.
CLAUDE_OUTPUT_KEYS = (
    "continue",
    "stopReason",
    "suppressOutput",
    "systemMessage",
    "decision",
    "reason",
    "hookSpecificOutput",
)
# 4xx codes that mean "try again later" rather than "never".
TRANSIENT_4XX = (408, 425, 429)
OK, REJECTED, UNREACHABLE = "ok", "rejected", "unreachable"
TRUTHY = ("1", "true", "yes", "on")


def log(message: str) -> None:
    """Short diagnostics on stderr; Claude Code shows them in verbose mode."""
    with contextlib.suppress(Exception):
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- config


class ConfigError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # argparse exits with code 2 on bad arguments, and exit code 2 from a
    # PreToolUse hook *blocks the tool call*. Raise instead and decide ourselves.
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(message)


class Config:
    def __init__(self, ns: argparse.Namespace) -> None:
        self.url: str = (ns.url or "").rstrip("/")
        self.token: str = ns.token or ""
        self.spool_dir = Path(ns.spool_dir).expanduser()
        self.timeout: float = ns.timeout
        self.fail_closed: bool = ns.fail_closed

    @property
    def endpoint(self) -> str:
        return self.url + HOOKS_PATH


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = _Parser(
        prog=PROG, description="Forward Claude Code hook events to claude-orchestrator."
    )
    parser.add_argument("--url", default=env.get("ORCHESTRATOR_URL"), help="orchestrator base URL")
    parser.add_argument("--token", default=env.get("ORCHESTRATOR_HOOK_TOKEN"), help="hook token")
    parser.add_argument(
        "--spool-dir",
        default=env.get("ORCHESTRATOR_HOOK_SPOOL_DIR") or DEFAULT_SPOOL_DIR,
        help=f"directory for undelivered events (default {DEFAULT_SPOOL_DIR})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=_env_float("ORCHESTRATOR_HOOK_TIMEOUT", DEFAULT_TIMEOUT),
        help=f"seconds per HTTP request (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--fail-closed",
        action="store_true",
        default=env.get("ORCHESTRATOR_HOOK_FAIL_CLOSED", "").strip().lower() in TRUTHY,
        help="deny PreToolUse when the orchestrator gives no answer",
    )
    return parser


def parse_config(argv: Sequence[str] | None) -> Config:
    config = Config(build_parser().parse_args(argv))
    if not config.url or not config.token:
        raise ConfigError("--url/ORCHESTRATOR_URL and --token/ORCHESTRATOR_HOOK_TOKEN are required")
    if not config.url.startswith(("http://", "https://")):
        raise ConfigError(f"--url must be http(s): {config.url!r}")
    if config.timeout <= 0:
        raise ConfigError("--timeout must be positive")
    return config


# --------------------------------------------------------------------------- HTTP


class Outcome:
    """Result of one POST: OK (with the parsed body), REJECTED or UNREACHABLE."""

    def __init__(self, kind: str, body: Any = None, detail: str = "") -> None:
        self.kind = kind
        self.body = body
        self.detail = detail


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect means a misconfigured URL; following it would turn the POST
    # into a GET and silently lose the event.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_event(config: Config, event_id: str, body: bytes, *, replay: bool = False) -> Outcome:
    headers = {
        "Authorization": f"Bearer {config.token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Hook-Event-Id": event_id,
        "User-Agent": PROG,
    }
    if replay:
        # A spooled event sent again: the server counts these for its delivery health.
        headers["X-Hook-Replay"] = "1"
    request = urllib.request.Request(config.endpoint, data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=config.timeout) as response:
            return Outcome(OK, _parse_body(response.read()), f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        return _classify_error_status(exc)
    # URLError, timeouts, resets and malformed responses all mean "try later".
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Outcome(UNREACHABLE, detail=f"{type(exc).__name__}: {exc}")


def _classify_error_status(exc: urllib.error.HTTPError) -> Outcome:
    detail = f"HTTP {exc.code}"
    with contextlib.suppress(Exception):
        detail += ": " + exc.read(300).decode("utf-8", "replace").strip()
    exc.close()
    if exc.code >= 500 or exc.code in TRANSIENT_4XX:
        return Outcome(UNREACHABLE, detail=detail)
    return Outcome(REJECTED, detail=detail)


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


# --------------------------------------------------------------------------- spool


class Spool:
    """Append-only JSONL queue of undelivered events for one (url, token)."""

    def __init__(self, directory: Path, url: str, token: str) -> None:
        # Hash url and token together: one queue per session, no secret in names.
        key = hashlib.sha256(f"{url}\0{token}".encode()).hexdigest()[:32]
        self.directory = directory
        self.path = directory / f"{key}.jsonl"
        self.lock_path = directory / f"{key}.lock"
        # When the server was last found unreachable (see `recently_down`).
        self.down_path = directory / f"{key}.down"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def read(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            entry = _parse_entry(line)
            if entry is not None:
                entries.append(entry)
            elif line.strip():
                log("dropping unreadable spool line")
        return entries

    def rewrite(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        # Temp file + os.replace: a crash leaves either the old or the new
        # spool, never a half-written one.
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".spool-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(b"".join(_encode_entry(entry) for entry in entries))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def append(self, entry: dict[str, Any]) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            data = _encode_entry(entry)
            # If an earlier writer died mid-line, start a fresh line so this
            # entry is not glued onto the broken one.
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def mark_down(self) -> None:
        with contextlib.suppress(OSError):
            self.down_path.write_text(repr(time.time()))

    def recently_down(self, since: float) -> bool:
        """True if another hook found the server down after we started.

        Hooks queued on the lock behind one that just timed out would each
        wait out their own timeout too; they spool straight away instead.
        """
        try:
            return float(self.down_path.read_text()) >= since
        except (OSError, ValueError):
            return False


def _encode_entry(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _parse_entry(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if isinstance(entry, dict) and isinstance(entry.get("event_id"), str) and "payload" in entry:
        return entry
    return None


# --------------------------------------------------------------------------- delivery


def replay(config: Config, spool: Spool, deadline: float) -> bool:
    """Send spooled events oldest first; return True once the spool is empty."""
    entries = spool.read()
    sent = 0
    try:
        for entry in entries:
            if time.monotonic() > deadline:
                break
            body = json.dumps(entry["payload"]).encode()
            outcome = post_event(config, entry["event_id"], body, replay=True)
            if outcome.kind == UNREACHABLE:
                log(f"orchestrator unreachable during replay ({outcome.detail})")
                spool.mark_down()
                break
            if outcome.kind == REJECTED:
                log(f"spooled event {entry['event_id']} rejected ({outcome.detail}); dropped")
            sent += 1
    finally:
        if sent:
            spool.rewrite(entries[sent:])
    return sent == len(entries)


def deliver(config: Config, event_id: str, raw: bytes, payload: Any, started: float) -> Outcome:
    """Replay the spool, then send this event or spool it behind the others."""
    spool = Spool(config.spool_dir, config.url, config.token)
    entry = {"event_id": event_id, "payload": payload}
    with spool.locked():
        if spool.recently_down(started):
            spool.append(entry)
            return Outcome(
                UNREACHABLE, detail="orchestrator found unreachable by a concurrent hook"
            )
        deadline = time.monotonic() + REPLAY_BUDGET_FACTOR * config.timeout
        if not replay(config, spool, deadline):
            # Sending now would overtake older events still in the spool.
            spool.append(entry)
            return Outcome(UNREACHABLE, detail="spool not drained; event queued behind it")
        outcome = post_event(config, event_id, raw)
        if outcome.kind == UNREACHABLE:
            spool.mark_down()
            spool.append(entry)
        return outcome


# --------------------------------------------------------------------------- output


def deny(reason: str) -> dict[str, Any]:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    }


def answer_for(
    payload: dict[str, Any], outcome: Outcome, fail_closed: bool
) -> dict[str, Any] | None:
    """What to print on stdout; None prints nothing (Claude Code carries on)."""
    if outcome.kind == OK and isinstance(outcome.body, dict):
        answer = {k: outcome.body[k] for k in CLAUDE_OUTPUT_KEYS if k in outcome.body}
        if answer:
            return answer
    if payload.get("hook_event_name") != "PreToolUse" or not fail_closed:
        return None
    if outcome.kind == OK:
        return None  # the server saw the event and chose not to decide
    if outcome.kind == REJECTED:
        return deny(f"claude-orchestrator rejected the event ({outcome.detail}); failing closed")
    return deny(FAIL_CLOSED_REASON)


def read_event(data: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(data)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def run(config: Config | ConfigError, stdin: bytes, started: float) -> dict[str, Any] | None:
    """Handle one hook event; return the answer for Claude Code, if any."""
    payload = read_event(stdin)
    if payload is None:
        log("stdin is not a JSON object; ignoring")
        return None
    if isinstance(config, ConfigError):
        log(f"configuration error: {config}; event not sent")
        return answer_for(payload, Outcome(UNREACHABLE), _fail_closed_from_env())
    event_id = str(uuid.uuid4())
    try:
        outcome = deliver(config, event_id, stdin, payload, started)
    except Exception as exc:  # a broken spool must not break Claude Code
        log(f"delivery failed: {type(exc).__name__}: {exc}")
        outcome = Outcome(UNREACHABLE, detail=str(exc))
    if outcome.kind == REJECTED:
        log(f"event rejected by orchestrator ({outcome.detail}); not retried")
    elif outcome.kind == UNREACHABLE:
        log(f"orchestrator unreachable ({outcome.detail}); event {event_id} spooled")
    return answer_for(payload, outcome, config.fail_closed)


def _fail_closed_from_env() -> bool:
    # Only used when argument parsing failed, so look at the raw flags too.
    env = os.environ.get("ORCHESTRATOR_HOOK_FAIL_CLOSED", "").strip().lower()
    return "--fail-closed" in sys.argv[1:] or env in TRUTHY


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point. Always returns 0 (see module docstring)."""
    started = time.time()
    try:
        # Parse first so that --help answers without waiting for stdin.
        config: Config | ConfigError = parse_config(argv)
    except ConfigError as exc:
        config = exc
    try:
        answer = run(config, sys.stdin.buffer.read(), started)
        if answer is not None:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    except Exception as exc:  # never a traceback on stdout, never a blocking exit code
        log(f"internal error: {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
