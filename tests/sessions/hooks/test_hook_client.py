"""End-to-end tests for the Claude Code hook client (sessions/hooks/client.py).

No mocks: a real HTTP server in a thread plays the orchestrator's side of the
hook contract, and the client runs as a real subprocess with Claude Code's
captured hook payloads on stdin. Needs neither Django nor a database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CLIENT = Path(__file__).resolve().parents[3] / "sessions" / "hooks" / "client.py"
FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "claude-code-2.1.331"
    / ("hooks_pre_post_stop.jsonl")
)
TOKEN = "hooktok-SECRET-3f9a1c"
DENY = {
    "hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": "deny",
        "permissionDecisionReason": "budget spent",
    }
}

# Copies of the captured Claude Code 2.1.331 payloads, used when the shared
# fixture directory is not mounted (e.g. in CI).
_SESSION = {
    "session_id": "7c4488ac-9ecc-4624-861b-ece7fdca94b8",
    "transcript_path": "/home/dev/.claude/projects/-home-dev-project/"
    "7c4488ac-9ecc-4624-861b-ece7fdca94b8.jsonl",
    "cwd": "/home/dev/project",
    "prompt_id": "474ba645-7257-434b-ade6-13bded1e0272",
    "permission_mode": "bypassPermissions",
    "effort": {"level": "medium"},
}
_TOOL_INPUT = {"command": "echo hello > hello.txt && ls", "description": "make a file"}
_EMBEDDED = {
    "PreToolUse": {
        **_SESSION,
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": _TOOL_INPUT,
        "tool_use_id": "toolu_1",
    },
    "PostToolUse": {
        **_SESSION,
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": _TOOL_INPUT,
        "tool_response": {"stdout": "hello.txt", "stderr": "", "interrupted": False},
        "tool_use_id": "toolu_1",
        "duration_ms": 422,
    },
    "Stop": {
        **_SESSION,
        "hook_event_name": "Stop",
        "stop_hook_active": False,
        "last_assistant_message": "Done: created hello.txt",
        "background_tasks": [],
        "session_crons": [],
    },
}


def _load_payloads() -> dict[str, dict[str, Any]]:
    if not FIXTURE.exists():
        return _EMBEDDED
    payloads = {}
    for line in FIXTURE.read_text().splitlines():
        if line.strip():
            event = json.loads(line)
            payloads[event["hook_event_name"]] = event
    return payloads


PAYLOADS = _load_payloads()


def payload(event: str, **overrides: Any) -> dict[str, Any]:
    return {**PAYLOADS[event], **overrides}


# --------------------------------------------------------------------------- fake server


class FakeOrchestrator:
    """Plays POST /api/hooks/ per the contract; switchable failure modes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []  # accepted, deduped, in arrival order
        self.requests: list[dict[str, Any]] = []  # every request, duplicates included
        self.mode = "ok"  # ok | deny | error500 | reject401 | hang
        self.fail_after: int | None = None  # accept this many, then answer 500
        self.hang_seconds = 2.0
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        server.daemon_threads = True
        server.block_on_close = False  # hung handlers must not stall teardown
        self.port = server.server_address[1]
        self.server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        """Close the listening socket: clients now get 'connection refused'."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def event_ids(self) -> list[str]:
        return [e["event_id"] for e in self.events]

    def payloads(self) -> list[dict[str, Any]]:
        return [e["payload"] for e in self.events]

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            event_id = headers.get("x-hook-event-id", "")
            self.requests.append({"event_id": event_id, "headers": headers, "body": body})
            if self.mode == "error500":
                return 500, {"error": "boom"}
            if self.mode == "reject401" or headers.get("authorization") != f"Bearer {TOKEN}":
                return 401, {"detail": "bad hook token"}
            if self.fail_after is not None and len(self.events) >= self.fail_after:
                return 500, {"error": "boom"}
            if any(e["event_id"] == event_id for e in self.events):
                return 200, {"ok": True, "duplicate": True}
            event = json.loads(body)
            self.events.append({"event_id": event_id, "payload": event, "headers": headers})
            if self.mode == "deny" and event.get("hook_event_name") == "PreToolUse":
                return 200, DENY
            return 201, {"ok": True, "seq": len(self.events)}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/api/hooks/":
                    self._reply(404, {"detail": "not found"})
                    return
                if fake.mode == "hang":
                    time.sleep(fake.hang_seconds)
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._reply(*fake.handle(headers, body))

            def _reply(self, status: int, answer: dict[str, Any]) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture()
def orchestrator() -> Any:
    fake = FakeOrchestrator()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture()
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


# --------------------------------------------------------------------------- helpers


def client_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith("ORCHESTRATOR_")
    }
    env["HOME"] = str(tmp_path)  # keep the default spool dir out of the real home
    env.update(extra)
    return env


def hook_args(url: str, spool_dir: Path, *extra: str) -> list[str]:
    return ["--url", url, "--token", TOKEN, "--spool-dir", str(spool_dir), "--timeout", "2", *extra]


def run_hook(
    stdin: dict[str, Any] | bytes,
    args: list[str],
    env: dict[str, str],
    python: str = sys.executable,
) -> subprocess.CompletedProcess[str]:
    data = stdin if isinstance(stdin, bytes) else json.dumps(stdin).encode()
    proc = subprocess.run(
        [python, str(CLIENT), *args],
        input=data,
        capture_output=True,
        env=env,
        timeout=30,
    )
    out = proc.stdout.decode()
    err = proc.stderr.decode()
    assert "Traceback" not in out + err
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def spool_lines(spool_dir: Path) -> list[dict[str, Any]]:
    files = list(spool_dir.glob("*.jsonl"))
    assert len(files) <= 1
    if not files:
        return []
    return [json.loads(line) for line in files[0].read_text().splitlines()]


def assert_uuid(value: str) -> None:
    assert str(uuid.UUID(value)) == value


# --------------------------------------------------------------------------- tests


def test_event_forwarded_with_token_and_event_id(orchestrator, spool_dir, tmp_path):
    event = payload("PostToolUse")
    proc = run_hook(event, hook_args(orchestrator.url, spool_dir), client_env(tmp_path))

    assert proc.returncode == 0
    assert proc.stdout == ""  # {"ok": true, "seq": 1} is bookkeeping, not for Claude Code
    [received] = orchestrator.events
    assert received["payload"] == event
    assert received["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert received["headers"]["content-type"] == "application/json"
    assert_uuid(received["event_id"])
    assert spool_lines(spool_dir) == []


def test_configuration_from_environment(orchestrator, spool_dir, tmp_path):
    env = client_env(
        tmp_path,
        ORCHESTRATOR_URL=orchestrator.url + "/",
        ORCHESTRATOR_HOOK_TOKEN=TOKEN,
        ORCHESTRATOR_HOOK_SPOOL_DIR=str(spool_dir),
    )
    proc = run_hook(payload("Stop"), [], env)

    assert proc.returncode == 0
    assert orchestrator.payloads() == [payload("Stop")]


def test_pretooluse_deny_printed_in_claude_code_format(orchestrator, spool_dir, tmp_path):
    orchestrator.mode = "deny"
    proc = run_hook(
        payload("PreToolUse"), hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    )

    assert proc.returncode == 0
    assert json.loads(proc.stdout) == DENY


def test_pretooluse_without_decision_prints_nothing(orchestrator, spool_dir, tmp_path):
    proc = run_hook(
        payload("PreToolUse"), hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    )

    assert proc.returncode == 0
    assert proc.stdout == ""
    assert len(orchestrator.events) == 1


@pytest.mark.parametrize("failure", ["down", "error500"])
def test_unreachable_spools_and_fails_open(orchestrator, spool_dir, tmp_path, failure):
    if failure == "down":
        orchestrator.stop()
    else:
        orchestrator.mode = "error500"
    event = payload("PreToolUse")
    proc = run_hook(event, hook_args(orchestrator.url, spool_dir), client_env(tmp_path))

    assert proc.returncode == 0
    assert proc.stdout == ""  # no output + exit 0: Claude Code's normal permission flow
    assert "unreachable" in proc.stderr
    [entry] = spool_lines(spool_dir)
    assert entry["payload"] == event
    assert_uuid(entry["event_id"])


@pytest.mark.parametrize("how", ["flag", "env"])
def test_fail_closed_denies_when_unreachable(orchestrator, spool_dir, tmp_path, how):
    orchestrator.stop()
    args = hook_args(orchestrator.url, spool_dir)
    env = client_env(tmp_path)
    if how == "flag":
        args.append("--fail-closed")
    else:
        env["ORCHESTRATOR_HOOK_FAIL_CLOSED"] = "1"
    proc = run_hook(payload("PreToolUse"), args, env)

    assert proc.returncode == 0
    decision = json.loads(proc.stdout)["hookSpecificOutput"]
    assert decision["hookEventName"] == "PreToolUse"
    assert decision["permissionDecision"] == "deny"
    assert "unreachable" in decision["permissionDecisionReason"]
    assert len(spool_lines(spool_dir)) == 1

    # Fail-closed only concerns permission decisions: other events print nothing.
    proc = run_hook(payload("Stop"), args, env)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_server_back_replays_spool_in_order_then_new_event(orchestrator, spool_dir, tmp_path):
    args, env = hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    orchestrator.stop()
    spooled = [payload("PreToolUse"), payload("PostToolUse"), payload("Stop")]
    for event in spooled:
        assert run_hook(event, args, env).returncode == 0
    spooled_ids = [entry["event_id"] for entry in spool_lines(spool_dir)]
    assert [entry["payload"] for entry in spool_lines(spool_dir)] == spooled

    orchestrator.start()  # same port
    orchestrator.mode = "deny"
    new = payload("PreToolUse", tool_use_id="toolu_2")
    proc = run_hook(new, args, env)

    # The answer printed is the one for the *new* event, not a replayed one.
    assert json.loads(proc.stdout) == DENY
    assert orchestrator.payloads() == [*spooled, new]
    assert orchestrator.event_ids()[:3] == spooled_ids
    assert len(set(orchestrator.event_ids())) == 4
    assert len(orchestrator.requests) == 4  # nothing sent twice
    assert spool_lines(spool_dir) == []

    # Nothing left to replay: the next call sends only itself.
    run_hook(payload("Stop"), args, env)
    assert len(orchestrator.requests) == 5


def test_replay_stops_at_first_failure_and_keeps_order(orchestrator, spool_dir, tmp_path):
    args, env = hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    orchestrator.stop()
    events = [payload("PostToolUse", tool_use_id=f"toolu_{i}") for i in range(3)]
    for event in events:
        run_hook(event, args, env)

    orchestrator.start()
    orchestrator.fail_after = 1  # accepts the first replayed event, then 500s
    new = payload("Stop")
    run_hook(new, args, env)

    assert orchestrator.payloads() == events[:1]
    # Replay stopped at the failure; the new event was queued without being
    # tried, since sending it would have overtaken the two still spooled.
    assert len(orchestrator.requests) == 2
    assert [entry["payload"] for entry in spool_lines(spool_dir)] == [*events[1:], new]

    orchestrator.fail_after = None
    run_hook(payload("Stop", last_assistant_message="again"), args, env)
    assert orchestrator.payloads() == [
        *events,
        new,
        payload("Stop", last_assistant_message="again"),
    ]
    assert spool_lines(spool_dir) == []


def test_server_dedupes_resent_event_ids(orchestrator, spool_dir, tmp_path):
    # A replay whose answer was lost is resent with the same id: harmless.
    spool_dir.mkdir(parents=True)
    args, env = hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    run_hook(payload("PostToolUse"), args, env)
    [sent] = orchestrator.events
    orchestrator.stop()
    run_hook(payload("Stop"), args, env)
    [spool_file] = spool_dir.glob("*.jsonl")
    replayed = json.dumps({"event_id": sent["event_id"], "payload": sent["payload"]})
    spool_file.write_text(replayed + "\n" + spool_file.read_text())

    orchestrator.start()
    run_hook(payload("Stop", last_assistant_message="new"), args, env)
    assert orchestrator.payloads() == [
        payload("PostToolUse"),
        payload("Stop"),
        payload("Stop", last_assistant_message="new"),
    ]
    assert spool_lines(spool_dir) == []


def test_4xx_is_not_spooled(orchestrator, spool_dir, tmp_path):
    orchestrator.mode = "reject401"
    args, env = hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    proc = run_hook(payload("PreToolUse"), args, env)

    assert (proc.returncode, proc.stdout) == (0, "")
    assert "rejected" in proc.stderr and "401" in proc.stderr
    assert spool_lines(spool_dir) == []
    assert orchestrator.events == []

    # Fail-closed: a rejected PreToolUse has no decision, so it is denied.
    proc = run_hook(payload("PreToolUse"), [*args, "--fail-closed"], env)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert spool_lines(spool_dir) == []


def test_wrong_token_is_rejected_not_spooled(orchestrator, spool_dir, tmp_path):
    args = ["--url", orchestrator.url, "--token", "wrong", "--spool-dir", str(spool_dir)]
    proc = run_hook(payload("Stop"), args, client_env(tmp_path))

    assert (proc.returncode, proc.stdout) == (0, "")
    assert "401" in proc.stderr
    assert list(spool_dir.glob("*.jsonl")) == []


@pytest.mark.parametrize("stdin", [b"not json {", b"", b"[1, 2]"])
def test_non_json_stdin_is_ignored(orchestrator, spool_dir, tmp_path, stdin):
    args = hook_args(orchestrator.url, spool_dir, "--fail-closed")
    proc = run_hook(stdin, args, client_env(tmp_path))

    assert (proc.returncode, proc.stdout) == (0, "")
    assert "not a JSON object" in proc.stderr
    assert orchestrator.requests == []
    assert spool_lines(spool_dir) == []


def test_spool_file_name_does_not_contain_token(orchestrator, spool_dir, tmp_path):
    orchestrator.stop()
    args, env = hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    run_hook(payload("Stop"), args, env)
    other_token = ["--url", orchestrator.url, "--token", "other", "--spool-dir", str(spool_dir)]
    run_hook(payload("Stop"), other_token, env)

    names = [p.name for p in spool_dir.iterdir()]
    assert len([n for n in names if n.endswith(".jsonl")]) == 2  # one spool per token
    for path in spool_dir.iterdir():
        assert TOKEN not in path.name
        assert TOKEN not in path.read_text()


def test_default_spool_dir_is_under_home_cache(orchestrator, tmp_path):
    orchestrator.stop()
    args = ["--url", orchestrator.url, "--token", TOKEN, "--timeout", "2"]
    run_hook(payload("Stop"), args, client_env(tmp_path))

    assert spool_lines(tmp_path / ".cache" / "claude-orchestrator" / "spool") != []


def test_concurrent_invocations_lose_nothing(orchestrator, spool_dir, tmp_path):
    args, env = hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    orchestrator.stop()
    events = [payload("PostToolUse", tool_use_id=f"toolu_c{i}") for i in range(8)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(CLIENT), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in events
    ]
    for proc, event in zip(procs, events, strict=True):
        out, _ = proc.communicate(json.dumps(event).encode(), timeout=30)
        assert (proc.returncode, out) == (0, b"")
    spooled = spool_lines(spool_dir)
    assert sorted(e["payload"]["tool_use_id"] for e in spooled) == sorted(
        e["tool_use_id"] for e in events
    )

    orchestrator.start()
    last = payload("Stop")
    run_hook(last, args, env)

    received = orchestrator.payloads()
    assert received[:8] == [e["payload"] for e in spooled]  # spool order kept
    assert received[-1] == last
    assert len(received) == 9
    assert len(orchestrator.requests) == 9
    assert len(set(orchestrator.event_ids())) == 9
    assert spool_lines(spool_dir) == []


def test_hung_server_does_not_stack_timeouts(orchestrator, spool_dir, tmp_path):
    # Hooks waiting on the spool lock behind one that timed out do not each
    # wait out their own timeout: they spool straight away.
    orchestrator.mode = "hang"
    args = ["--url", orchestrator.url, "--token", TOKEN, "--spool-dir", str(spool_dir)]
    args += ["--timeout", "0.5"]
    env = client_env(tmp_path)
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, str(CLIENT), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(5)
    ]
    for i, proc in enumerate(procs):
        out, _ = proc.communicate(json.dumps(payload("Stop", n=i)).encode(), timeout=30)
        assert (proc.returncode, out) == (0, b"")
    elapsed = time.monotonic() - started

    assert elapsed < 2.0, elapsed  # 5 stacked timeouts would take >= 2.5 s
    assert len(spool_lines(spool_dir)) == 5


def test_bad_arguments_never_exit_2(orchestrator, spool_dir, tmp_path):
    # Exit code 2 from a PreToolUse hook would block the tool call.
    env = client_env(tmp_path)
    proc = run_hook(payload("PreToolUse"), ["--bogus"], env)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert "configuration error" in proc.stderr

    proc = run_hook(payload("PreToolUse"), ["--fail-closed", "--timeout", "x"], env)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_help_does_not_wait_for_stdin():
    proc = subprocess.Popen(
        [sys.executable, str(CLIENT), "--help"],
        stdin=subprocess.PIPE,  # left open: --help must answer without reading it
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.wait(timeout=10) == 0
        assert b"--fail-closed" in proc.stdout.read()
    finally:
        proc.kill()
        proc.communicate()


def _python38() -> str | None:
    pyenv = sorted((Path.home() / ".pyenv" / "versions").glob("3.8.*/bin/python3.8"))
    for candidate in ("python3.8", *map(str, pyenv)):
        path = shutil.which(candidate)
        if path and subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return path
    return None


def test_runs_as_plain_file_under_python38(orchestrator, spool_dir, tmp_path):
    python = _python38()
    if python is None:
        pytest.skip("python3.8 not installed")
    args, env = hook_args(orchestrator.url, spool_dir), client_env(tmp_path)
    orchestrator.stop()
    run_hook(payload("PostToolUse"), args, env, python=python)
    orchestrator.start()
    orchestrator.mode = "deny"
    proc = run_hook(payload("PreToolUse"), args, env, python=python)

    assert json.loads(proc.stdout) == DENY
    assert orchestrator.payloads() == [payload("PostToolUse"), payload("PreToolUse")]
