"""End to end: attach mode with the real Claude Code CLI.

Someone runs Claude Code themselves (here: the CLI from the claude-agent-sdk wheel in print
mode, against the scripted model) with the hooks that hook-config hands out, and it reports
into an attached session over real HTTP: `http` hooks post straight to the server, `command`
hooks go through the hook client, which spools while the server is away and replays later.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import claude_agent_sdk
import httpx
import pytest

from sessions import policies
from sessions.agent.scripted_model.server import ScriptedModelServer
from sessions.choices import SessionStatus
from sessions.live import feed as live
from sessions.models import CommandLog, HookEvent, Session
from tenants.models import User
from tests.conftest import api_token_for
from tests.live_server import running_server
from tests.sessions.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

CLI = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
VENV_BIN = Path(sys.executable).parent  # where `claude-orchestrator-hook` is installed
CLI_TIMEOUT = 60
HOOK_KINDS = ["http", "command"]
PROMPT = "Make a result file [scenario:bash_write]"
# A hand-run Claude Code does not live in our server's environment.
NOT_INHERITED = ("CLAUDE", "ANTHROPIC", "ORCHESTRATOR_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")


# --------------------------------------------------------------------------- Claude Code


@dataclass
class ClaudeRun:
    """What `claude -p --output-format stream-json` printed."""

    returncode: int
    messages: list[dict[str, Any]]
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        results = [m for m in self.messages if m.get("type") == "result"]
        assert results, f"no result message (rc {self.returncode}):\n{self.stderr}"
        return results[-1]

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [block for block in self._blocks("assistant") if block.get("type") == "tool_use"]

    def tool_result(self, tool_use_id: str) -> dict[str, Any]:
        return next(
            b
            for b in self._blocks("user")
            if b.get("type") == "tool_result" and b.get("tool_use_id") == tool_use_id
        )

    def _blocks(self, kind: str) -> Iterator[dict[str, Any]]:
        for message in self.messages:
            content = (message.get("message") or {}).get("content")
            if message.get("type") == kind and isinstance(content, list):
                yield from content


@dataclass
class Machine:
    """The computer of someone running Claude Code: its config and the hook client's spool."""

    root: Path
    model_url: str

    @property
    def spool_dir(self) -> Path:
        return self.root / "spool"

    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
        return {
            **inherited,
            "PATH": f"{VENV_BIN}{os.pathsep}{inherited.get('PATH', '')}",
            "ANTHROPIC_BASE_URL": self.model_url,
            "ANTHROPIC_API_KEY": "scripted-demo",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "1",
            "IS_SANDBOX": "1",  # root may use bypassPermissions only in a sandbox
            "CLAUDE_CONFIG_DIR": str(self.root / "claude"),
            "ORCHESTRATOR_HOOK_SPOOL_DIR": str(self.spool_dir),
        }

    def start_claude(
        self, prompt: str, *, cwd: Path, settings_file: Path | None = None
    ) -> subprocess.Popen:
        args = [str(CLI), "-p", prompt, "--output-format", "stream-json", "--verbose"]
        args += ["--permission-mode", "bypassPermissions"]
        if settings_file is not None:
            args += ["--settings", str(settings_file)]
        self.root.mkdir(parents=True, exist_ok=True)
        # Files, not pipes: nobody reads them while the test waits for something else.
        with (
            (self.root / "claude.out").open("wb") as out,
            (self.root / "claude.err").open("wb") as err,
        ):
            return subprocess.Popen(
                args, cwd=cwd, env=self.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )

    def finish(self, process: subprocess.Popen) -> ClaudeRun:
        try:
            returncode = process.wait(CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"Claude Code ran over {CLI_TIMEOUT}s")
        lines = (self.root / "claude.out").read_text().splitlines()
        messages = [json.loads(line) for line in lines if line.startswith("{")]
        return ClaudeRun(returncode, messages, (self.root / "claude.err").read_text())

    def claude(self, prompt: str, *, cwd: Path, settings_file: Path | None = None) -> ClaudeRun:
        return self.finish(self.start_claude(prompt, cwd=cwd, settings_file=settings_file))

    def spooled(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for path in sorted(self.spool_dir.glob("*.jsonl"))
            for line in path.read_text().splitlines()
            if line.strip()
        ]


def succeeded(run: ClaudeRun) -> bool:
    return run.returncode == 0 and run.result["subtype"] == "success" and not run.result["is_error"]


# --------------------------------------------------------------------------- orchestrator


def attach(client, **project: str) -> dict[str, Any]:
    response = client.post(
        "/api/sessions/", {"name": "by hand", "mode": "attached", **project}, format="json"
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == SessionStatus.PENDING and not created["project_path"]
    return created


def fetch_hook_config(base_url: str, session_id: str, user: User) -> dict[str, Any]:
    """A new token and the blocks that carry it (the only answer that shows a token again),
    over real HTTP, so the settings name the address Claude Code can reach."""
    key = api_token_for(user)
    response = httpx.post(
        f"{base_url}/api/sessions/{session_id}/hook-config/rotate/",
        headers={"Authorization": f"Token {key}"},
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    return response.json()


def write_settings(path: Path, settings_block: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings_block, indent=2))
    return path


def logs_of(session_id: str) -> list[CommandLog]:
    return list(CommandLog.objects.filter(session_id=session_id).order_by("seq"))


def hook_events_of(session_id: str) -> list[tuple[str, str]]:
    events = HookEvent.objects.filter(session_id=session_id).order_by("id")
    return [(e.hook_event_name, e.payload.get("tool_use_id", "")) for e in events]


def expected_hook_events(run: ClaudeRun, *, session_start: bool = True) -> list[tuple[str, str]]:
    """What Claude Code reports for a turn without failures, in order."""
    events = [("SessionStart", "")] if session_start else []
    events.append(("UserPromptSubmit", ""))
    for tool in run.tool_uses:
        events += [("PreToolUse", tool["id"]), ("PostToolUse", tool["id"])]
    return [*events, ("Stop", ""), ("SessionEnd", "")]


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    with ScriptedModelServer() as server:
        yield server.base_url


@pytest.fixture
def machine(tmp_path, model_url) -> Machine:
    return Machine(tmp_path / "machine", model_url)


@pytest.fixture
def statuses(monkeypatch) -> dict[str, list[str]]:
    """Every status a session moves to, from the live events published after commit."""
    seen: dict[str, list[str]] = defaultdict(list)
    publish_many = live.publish_many

    def recording(session_id, events: list[dict]) -> None:
        for event in events:
            if event.get("kind") == "status":
                seen[str(session_id)].append(event["status"])
        publish_many(session_id, events)

    monkeypatch.setattr(live, "publish_many", recording)
    return seen


@pytest.fixture
def local_attached(api, member, project_root, settings) -> tuple[dict[str, Any], Path]:
    """An attached session for a folder of the user's own; the folder."""
    settings.PUBLIC_URL = ""
    project = project_root / "app"
    return attach(api(member), project_type="local", local_path=str(project)), project


def install_hooks(
    live_server, member: User, attached: dict[str, Any], project: Path, kind: str
) -> None:
    """The session's `kind` hooks into the project's .claude/settings.json."""
    config = fetch_hook_config(live_server.url, attached["id"], member)
    assert config["token"] and config["token"] != attached["hook_token"]
    write_settings(project / ".claude" / "settings.json", config[f"{kind}_settings"])


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("kind", HOOK_KINDS)
def test_attached_claude_code_reports_its_tool_calls(
    kind, machine, live_server, member, local_attached, statuses
):
    attached, project = local_attached
    install_hooks(live_server, member, attached, project, kind)
    run = machine.claude(PROMPT, cwd=project)
    assert succeeded(run), run.stderr

    logs = logs_of(attached["id"])
    assert [(log.tool, log.tool_use_id) for log in logs] == [
        (tool["name"], tool["id"]) for tool in run.tool_uses
    ]
    bash, write = logs
    assert bash.input["command"] == "pwd && echo scripted-bash-ok"
    assert bash.result.splitlines() == [str(project), "scripted-bash-ok"]
    assert not bash.is_error and bash.duration_ms is not None
    assert write.input["file_path"] == str(project / "result.txt")
    assert json.loads(write.result)["filePath"] == str(project / "result.txt")
    assert (project / "result.txt").read_text() == write.input["content"]

    session = Session.objects.get(pk=attached["id"])
    assert statuses[attached["id"]] == ["running", "idle", "completed"]
    assert session.status == SessionStatus.COMPLETED and session.started_at
    assert session.tool_call_count == 2 and not session.project_path
    conversation = list(session.messages.order_by("seq").values_list("direction", "content"))
    assert conversation == [
        ("user", PROMPT),
        ("assistant", run.result["result"]),
    ]
    session_start = kind == "command"  # Claude Code runs no http hook on SessionStart
    assert hook_events_of(attached["id"]) == expected_hook_events(run, session_start=session_start)
    assert session.agent_session_id == run.result["session_id"]


def test_http_and_command_hooks_record_the_same_tool_calls(
    tmp_path, model_url, live_server, api, member, project_root, settings
):
    settings.PUBLIC_URL = ""
    client, started = api(member), {}
    for kind in HOOK_KINDS:  # both at once: two people's Claude Codes, side by side
        project = project_root / kind
        project.mkdir()
        attached = attach(client, project_type="local", local_path=str(project))
        install_hooks(live_server, member, attached, project, kind)
        machine = Machine(tmp_path / kind, model_url)
        started[kind] = (
            attached["id"],
            project,
            machine,
            machine.start_claude(PROMPT, cwd=project),
        )
    recorded = {}
    for kind, (session_id, project, machine, process) in started.items():
        run = machine.finish(process)
        assert succeeded(run), run.stderr
        recorded[kind] = [
            (
                log.tool,
                json.dumps(log.input).replace(str(project), "<cwd>"),
                log.result.replace(str(project), "<cwd>"),
                log.is_error,
            )
            for log in logs_of(session_id)
        ]
    assert [tool for tool, *_ in recorded["http"]] == ["Bash", "Write"]
    assert recorded["http"] == recorded["command"]


@pytest.mark.parametrize("kind", HOOK_KINDS)
def test_a_policy_denial_stops_the_tool_in_claude_code(
    kind, machine, live_server, member, local_attached, tmp_path
):
    attached, project = local_attached

    def no_writes(session, payload: dict) -> policies.Decision | None:
        if str(session.pk) == attached["id"] and payload.get("tool_name") == "Write":
            return policies.Decision(allow=False, reason="writes are off in this test")
        return None

    config = fetch_hook_config(live_server.url, attached["id"], member)
    # Given with --settings this time: the project's own settings stay untouched.
    settings_file = write_settings(tmp_path / "hooks.json", config[f"{kind}_settings"])
    policies.register_policy("test-deny", no_writes)
    try:
        run = machine.claude(PROMPT, cwd=project, settings_file=settings_file)
    finally:
        policies.unregister_policy("test-deny")

    assert succeeded(run), run.stderr  # a denied tool does not end the turn
    assert not (project / "result.txt").exists()
    bash, write = run.tool_uses
    assert [d["tool_use_id"] for d in run.result["permission_denials"]] == [write["id"]]
    answer = run.tool_result(write["id"])
    assert answer["is_error"] and "writes are off in this test" in json.dumps(answer)
    logs = logs_of(attached["id"])
    assert [(log.tool, log.tool_use_id, log.is_error) for log in logs] == [
        ("Bash", bash["id"], False),
        ("Write", write["id"], True),
    ]
    assert logs[1].result == "Denied by test-deny: writes are off in this test"


def test_events_spooled_while_the_server_is_down_are_replayed_once_in_order(
    machine, api, member, tmp_path
):
    project = tmp_path / "widgets"  # the user's own clone; attached sessions get no workspace
    project.mkdir()
    attached = attach(api(member), project_type="github", github_repo="acme/widgets")
    session_id = attached["id"]
    with running_server(tmp_path / "server.log") as server:
        config = fetch_hook_config(server.url, session_id, member)
        write_settings(project / ".claude" / "settings.json", config["command_settings"])

        # Three slow Bash calls: the server goes away once the first one is recorded.
        claude = machine.start_claude("Take your time [scenario:slow]", cwd=project)
        wait_for(lambda: CommandLog.objects.filter(session_id=session_id).exists(), timeout=30)
        server.stop()
        run = machine.finish(claude)

        assert succeeded(run), run.stderr  # fail-open: Claude Code never noticed
        assert len(run.tool_uses) == 3
        spooled = [entry["payload"]["hook_event_name"] for entry in machine.spooled()]
        assert spooled[-3:] == ["PostToolUse", "Stop", "SessionEnd"], spooled
        assert len(logs_of(session_id)) < 3
        assert not HookEvent.objects.filter(session_id=session_id, hook_event_name="Stop").exists()

        server.start()
        # The next hook call, exactly as Claude Code would run it, replays the spool first.
        command = config["command_settings"]["hooks"]["Notification"][0]["hooks"][0]["command"]
        notification = {
            "session_id": run.result["session_id"],
            "cwd": str(project),
            "hook_event_name": "Notification",
            "message": "Claude Code is waiting for your input",
        }
        delivered = subprocess.run(
            shlex.split(command),
            input=json.dumps(notification).encode(),
            env=machine.env(),
            capture_output=True,
            timeout=30,
        )
        assert delivered.returncode == 0, delivered.stderr

    assert machine.spooled() == []
    assert hook_events_of(session_id) == [*expected_hook_events(run), ("Notification", "")]
    logs = logs_of(session_id)
    assert [log.tool_use_id for log in logs] == [tool["id"] for tool in run.tool_uses]
    assert set(Counter(log.tool_use_id for log in logs).values()) == {1}  # none doubled
    assert [log.result for log in logs] == ["tick 1", "tick 2", "tick 3"]
    session = Session.objects.get(pk=session_id)
    assert session.status == SessionStatus.COMPLETED
    assert session.agent_session_id == run.result["session_id"]
    assert session.tool_call_count == 3
    last = session.messages.order_by("seq").last()
    assert (last.direction, last.content) == ("system", notification["message"])
    assert last.seq == session.last_seq
