"""Tests for the offline scripted demo model.

Protocol tests talk HTTP to a real server with urllib; the e2e tests drive
the real Claude Code CLI bundled in claude-agent-sdk against it. No Django.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessions.agent.scripted_model.server import (
    PREFIX,
    ScriptedModelServer,
    load_scenario,
    scenario_names,
)

CWD_SYSTEM = "# Environment\n - Primary working directory: /home/dev/demo\n - Platform: linux"
TOOLS = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def _post(server: ScriptedModelServer, path: str, body: dict[str, Any]) -> tuple[int, bytes, str]:
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "x-api-key": "test"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["Content-Type"]


def _request(messages: list[dict[str, Any]], stream: bool) -> dict[str, Any]:
    return {
        "model": "claude-test",
        "max_tokens": 1000,
        "system": [{"type": "text", "text": CWD_SYSTEM}],
        "tools": TOOLS,
        "messages": messages,
        "stream": stream,
    }


def _parse_sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in raw.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def _assemble(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rebuild content blocks from stream deltas, like an SDK client would."""
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for name, data in events:
        if name == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"])
            partial[data["index"]] = ""
        elif name == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta":
                blocks[data["index"]]["text"] += delta["text"]
            else:
                partial[data["index"]] += delta["partial_json"]
        elif name == "content_block_stop" and blocks[data["index"]]["type"] == "tool_use":
            blocks[data["index"]]["input"] = json.loads(partial[data["index"]])
    return [blocks[i] for i in sorted(blocks)]


# --------------------------------------------------------------------------
# Scenario files
# --------------------------------------------------------------------------


def test_shipped_scenarios_load() -> None:
    names = scenario_names()
    assert {"default", "bash_write", "slow", "fail"} <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.description
        assert scenario.steps and "tool" not in scenario.steps[-1]


# --------------------------------------------------------------------------
# Protocol level
# --------------------------------------------------------------------------


def test_non_streaming_first_step_is_bash_tool_use(server: ScriptedModelServer) -> None:
    prompt = {"role": "user", "content": "please [scenario:bash_write]"}
    status, raw, content_type = _post(server, "/v1/messages", _request([prompt], stream=False))
    assert status == 200 and content_type == "application/json"
    message = json.loads(raw)
    assert message["type"] == "message" and message["model"] == "claude-test"
    assert message["stop_reason"] == "tool_use"
    assert message["content"][0]["text"].startswith(PREFIX)
    tool = message["content"][1]
    assert tool["type"] == "tool_use" and tool["name"] == "Bash"
    assert "scripted-bash-ok" in tool["input"]["command"]
    assert message["usage"]["input_tokens"] > 0 and message["usage"]["output_tokens"] > 0
    assert message["usage"]["cache_read_input_tokens"] == 0


def test_streaming_event_sequence_and_tool_input(server: ScriptedModelServer) -> None:
    # One assistant turn (the Bash call) already happened: expect step 2, the Write.
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "go [scenario:bash_write]"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
        },
    ]
    status, raw, content_type = _post(server, "/v1/messages", _request(messages, stream=True))
    assert status == 200 and content_type == "text/event-stream"
    events = _parse_sse(raw)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 2
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "tool_use"
    assert final["usage"]["output_tokens"] > 0
    text, tool = _assemble(events)
    assert text["text"].startswith(PREFIX)
    # Relative paths in the scenario are anchored at the cwd the CLI reports.
    assert tool["name"] == "Write"
    assert tool["input"]["file_path"] == "/home/dev/demo/result.txt"


def test_final_step_and_beyond_end_turn(server: ScriptedModelServer) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "[scenario:fail]"}]
    for index in range(3):
        messages += [
            {"role": "assistant", "content": [{"type": "text", "text": f"turn {index}"}]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "x", "content": ""}],
            },
        ]
        _, raw, _ = _post(server, "/v1/messages", _request(messages, stream=False))
        message = json.loads(raw)
        assert message["stop_reason"] == "end_turn"
        assert message["content"][0]["text"].startswith(PREFIX)


def test_new_prompt_after_interrupt_restarts_with_its_scenario(
    server: ScriptedModelServer,
) -> None:
    # After an interrupt the CLI merges tool_result + note + next prompt.
    merged = [
        {"type": "tool_result", "tool_use_id": "t1", "content": "rejected", "is_error": True},
        {"type": "text", "text": "[Request interrupted by user for tool use]\n"},
        {"type": "text", "text": "next [scenario:fail]"},
    ]
    messages = [
        {"role": "user", "content": "first [scenario:slow]"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}],
        },
        {"role": "user", "content": merged},
    ]
    _, raw, _ = _post(server, "/v1/messages", _request(messages, stream=False))
    tool = json.loads(raw)["content"][1]
    assert tool["name"] == "Bash" and "exit 3" in tool["input"]["command"]


def test_side_request_without_tools_gets_plain_text(server: ScriptedModelServer) -> None:
    body = {
        "model": "claude-haiku-test",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "title?"}],
    }
    _, raw, _ = _post(server, "/v1/messages", body)
    message = json.loads(raw)
    assert message["stop_reason"] == "end_turn"
    assert [block["type"] for block in message["content"]] == ["text"]


def test_count_tokens_probes_and_unknown_paths(server: ScriptedModelServer) -> None:
    status, raw, _ = _post(server, "/v1/messages/count_tokens?beta=true", _request([], False))
    assert status == 200 and json.loads(raw)["input_tokens"] > 0
    with urllib.request.urlopen(server.base_url + "/v1/models", timeout=5) as response:
        assert json.loads(response.read())["data"][0]["id"] == "scripted-demo-model"
    status, raw, _ = _post(server, "/v1/unknown", {})
    assert status == 404 and json.loads(raw)["type"] == "error"


def test_constructor_delay_slows_every_reply() -> None:
    with ScriptedModelServer(delay=0.3) as slow_server:
        began = time.monotonic()
        _post(slow_server, "/v1/messages", _request([{"role": "user", "content": "hi"}], False))
        assert time.monotonic() - began >= 0.3


# --------------------------------------------------------------------------
# End to end with the real Claude Code CLI
# --------------------------------------------------------------------------


def _cli_env(server: ScriptedModelServer) -> dict[str, str]:
    return {
        "ANTHROPIC_BASE_URL": server.base_url,
        "ANTHROPIC_API_KEY": "scripted-demo",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # bypassPermissions is refused for root unless the CLI is told it is sandboxed.
        "IS_SANDBOX": "1",
    }


async def _run_turns(server: ScriptedModelServer, cwd: Path, prompts: list[str]) -> dict[str, Any]:
    sdk = pytest.importorskip("claude_agent_sdk")
    hook_calls: list[dict[str, Any]] = []

    async def record(input_data: dict[str, Any], tool_use_id: str | None, context: Any) -> dict:
        hook_calls.append(input_data)
        return {}

    options = sdk.ClaudeAgentOptions(
        cwd=str(cwd),
        permission_mode="bypassPermissions",
        env=_cli_env(server),
        hooks={
            event: [sdk.HookMatcher(hooks=[record])]
            for event in ("PreToolUse", "PostToolUse", "PostToolUseFailure")
        },
    )
    messages: list[Any] = []
    async with sdk.ClaudeSDKClient(options=options) as client:
        for prompt in prompts:
            await client.query(prompt)
            messages += [message async for message in client.receive_response()]
    results = [m for m in messages if isinstance(m, sdk.ResultMessage)]
    return {"messages": messages, "results": results, "hooks": hook_calls, "sdk": sdk}


def _run(server: ScriptedModelServer, cwd: Path, *prompts: str) -> dict[str, Any]:
    return asyncio.run(asyncio.wait_for(_run_turns(server, cwd, list(prompts)), timeout=60))


@pytest.mark.e2e
def test_cli_bash_write_runs_tools_and_hooks(server: ScriptedModelServer, tmp_path: Path) -> None:
    run = _run(server, tmp_path, "Please do it [scenario:bash_write]")
    assert (tmp_path / "result.txt").read_text() == "result from the scripted demo model\n"

    pre = [
        (h["tool_name"], h["tool_input"])
        for h in run["hooks"]
        if h["hook_event_name"] == "PreToolUse"
    ]
    post = [h["tool_name"] for h in run["hooks"] if h["hook_event_name"] == "PostToolUse"]
    assert [name for name, _ in pre] == ["Bash", "Write"] and post == ["Bash", "Write"]
    assert pre[0][1]["command"] == "pwd && echo scripted-bash-ok"
    assert pre[1][1]["file_path"] == str(tmp_path / "result.txt")
    assert all(h["cwd"] == str(tmp_path) for h in run["hooks"])

    [result] = run["results"]
    assert result.subtype == "success" and not result.is_error
    assert result.result.startswith(PREFIX)
    assert result.num_turns == 3
    assert result.usage["input_tokens"] > 0 and result.usage["output_tokens"] > 0
    assert result.total_cost_usd is not None and result.total_cost_usd > 0
    assert result.model_usage


@pytest.mark.e2e
def test_cli_default_scenario(server: ScriptedModelServer, tmp_path: Path) -> None:
    run = _run(server, tmp_path, "Show me what you can do")
    assert (tmp_path / "hello.txt").read_text() == "hello\n"
    assert "Status: reviewed" in (tmp_path / "NOTES.md").read_text()
    tools = [h["tool_name"] for h in run["hooks"] if h["hook_event_name"] == "PostToolUse"]
    assert tools == ["Bash", "Write", "Edit", "Read"]
    [result] = run["results"]
    assert result.subtype == "success" and result.num_turns == 5


@pytest.mark.e2e
def test_cli_follow_up_turn_and_failing_command(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    run = _run(server, tmp_path, "first [scenario:bash_write]", "then [scenario:fail]")
    first, second = run["results"]
    assert first.session_id == second.session_id
    failures = [h for h in run["hooks"] if h["hook_event_name"] == "PostToolUseFailure"]
    assert [h["tool_input"]["command"] for h in failures] == ["echo about to fail >&2; exit 3"]
    assert second.subtype == "success" and "exit code 3" in second.result
    assert os.path.exists(tmp_path / "result.txt")


@pytest.mark.e2e
def test_cli_sessions_run_concurrently(server: ScriptedModelServer, tmp_path: Path) -> None:
    # Stateless server: parallel sessions must not disturb each other's steps.
    workspaces = [tmp_path / name for name in ("a", "b", "c")]
    for workspace in workspaces:
        workspace.mkdir()

    async def all_runs() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(_run_turns(server, ws, ["go [scenario:bash_write]"]) for ws in workspaces)
        )

    runs = asyncio.run(asyncio.wait_for(all_runs(), timeout=60))
    for workspace, run in zip(workspaces, runs, strict=True):
        assert (workspace / "result.txt").exists()
        assert run["results"][0].num_turns == 3


async def _interrupt_slow_turn(server: ScriptedModelServer, cwd: Path) -> tuple[Any, float]:
    sdk = pytest.importorskip("claude_agent_sdk")
    started = asyncio.Event()

    async def on_pre(input_data: dict[str, Any], tool_use_id: str | None, context: Any) -> dict:
        started.set()
        return {}

    options = sdk.ClaudeAgentOptions(
        cwd=str(cwd),
        permission_mode="bypassPermissions",
        env=_cli_env(server),
        hooks={"PreToolUse": [sdk.HookMatcher(hooks=[on_pre])]},
    )
    async with sdk.ClaudeSDKClient(options=options) as client:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        await client.query("take your time [scenario:slow]")
        await started.wait()
        await asyncio.sleep(0.3)  # let the sleep command actually start
        await client.interrupt()
        results = [m async for m in client.receive_response() if isinstance(m, sdk.ResultMessage)]
        return results[-1], loop.time() - begin


@pytest.mark.e2e
def test_cli_slow_scenario_can_be_interrupted(server: ScriptedModelServer, tmp_path: Path) -> None:
    result, elapsed = asyncio.run(
        asyncio.wait_for(_interrupt_slow_turn(server, tmp_path), timeout=60)
    )
    assert result.is_error and result.subtype == "error_during_execution"
    assert result.terminal_reason == "aborted_tools"
    # Three 2 s sleeps were scripted; interrupting stops well before that.
    assert elapsed < 4
