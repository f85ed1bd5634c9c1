"""Offline scripted demo model speaking the Anthropic Messages API.

The real Claude Code CLI can be pointed at this server with
``ANTHROPIC_BASE_URL=http://127.0.0.1:PORT``; it then runs real tools
(Bash, Write, Edit, Read) in its working directory, following a scripted
scenario, with no internet access and no API key.

The server keeps no per-session state: every request carries the whole
conversation, so the next step is derived from it (how many assistant turns
follow the latest user prompt). Any number of sessions can run concurrently.

Scenario files (``scenarios/NAME.json``)::

    {"name": "NAME", "description": "...",
     "variables": {"sleep_seconds": 2},      # optional, used as {{sleep_seconds}}
     "delay": 0,                             # optional seconds before each reply
     "steps": [
       {"text": "optional note", "tool": "Bash", "input": {"command": "ls"}},
       {"tools": [{"tool": "Bash", "input": {...}}, {"tool": "Read", "input": {...}}]},
       {"text": "final answer", "delay": 0.5}
     ]}

A step with ``tool``/``tools`` answers with tool_use blocks; a step with only
``text`` is the final answer (stop_reason ``end_turn``). ``{{cwd}}`` and the
scenario variables are substituted in strings; a relative ``file_path`` is
made absolute against the cwd Claude Code reports.

What a turn plays, decided from its latest prompt alone:

1. ``[scenario:NAME]`` in the latest prompt: that scenario;
2. else an intent the prompt asks for ("create hello.py that prints hi",
   "edit README.md to ...", "run the tests", "list the files", "explain
   main.py"; see :mod:`.intents`): real tool calls on the named files;
3. else the scenario of the earliest prompt that named one (a plain follow-up
   such as "again" continues it), else ``default``.

Run standalone with ``python -m sessions.agent.scripted_model.server --port 8765``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .intents import ToolResult, plan_step

logger = logging.getLogger("sessions.agent.scripted_model")

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
DEFAULT_SCENARIO = "default"
PREFIX = "[scripted demo model]"
SCENARIO_MARKER = re.compile(r"\[scenario:([A-Za-z0-9_\-]+)\]")
# Claude Code puts its environment block (with the cwd) into the system
# prompt or a system-role message; Write/Edit/Read need absolute paths.
CWD_PATTERN = re.compile(r"Primary working directory:\s*(\S[^\n]*)")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
DELAY_ENV = "SCRIPTED_MODEL_DELAY"


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A named, ordered list of steps loaded from a JSON file."""

    name: str
    description: str
    steps: list[dict[str, Any]]
    variables: dict[str, Any]
    delay: float = 0.0


def scenario_names() -> list[str]:
    """Names of all shipped scenarios (file stems in ``scenarios/``)."""
    return sorted(path.stem for path in SCENARIO_DIR.glob("*.json"))


def scenario_table() -> str:
    """The README's Markdown table of shipped scenarios (a test keeps the two equal)."""
    rows = [f"| `{name}` | {load_scenario(name).description} |" for name in scenario_names()]
    return "\n".join(["| Scenario | What it does |", "|---|---|", *rows])


def load_scenario(name: str) -> Scenario:
    """Load a scenario by name; unknown names fall back to the default."""
    path = SCENARIO_DIR / f"{name}.json"
    if not path.is_file():
        logger.warning("unknown scenario %r, using %r", name, DEFAULT_SCENARIO)
        path = SCENARIO_DIR / f"{DEFAULT_SCENARIO}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return Scenario(
        name=data.get("name", path.stem),
        description=data.get("description", ""),
        steps=list(data.get("steps", [])),
        variables=dict(data.get("variables", {})),
        delay=float(data.get("delay", 0)),
    )


# --------------------------------------------------------------------------
# Reading the conversation
# --------------------------------------------------------------------------


def _blocks(content: Any) -> list[dict[str, Any]]:
    """Normalise message content (string or block list) to a block list."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []


def _human_texts(message: dict[str, Any]) -> list[str]:
    """Text the user typed: text blocks that are not CLI system reminders."""
    if message.get("role") != "user":
        return []
    texts = [b.get("text", "") for b in _blocks(message.get("content")) if b.get("type") == "text"]
    return [t for t in texts if not t.lstrip().startswith("<system-reminder>")]


def _is_prompt(message: dict[str, Any]) -> bool:
    """A user message with typed text starts a new turn.

    After an interrupt the CLI merges the cancelled tool_result, the
    "[Request interrupted ...]" note and the next prompt into one user
    message, so "has no tool_result" is not a usable test.
    """
    return bool(_human_texts(message))


def _text_of(message: dict[str, Any]) -> str:
    return "\n".join(
        b.get("text", "") for b in _blocks(message.get("content")) if b.get("type") == "text"
    )


def _all_text(body: dict[str, Any]) -> str:
    """Every text in the request, used to look for the cwd."""
    parts = [b.get("text", "") for b in _blocks(body.get("system"))]
    parts += [_text_of(m) for m in body.get("messages", [])]
    return "\n".join(parts)


def pick_scenario_name(messages: list[dict[str, Any]]) -> str:
    """Marker in the latest prompt wins, then the earliest marked prompt."""
    prompts = ["\n".join(_human_texts(m)) for m in messages if _is_prompt(m)]
    latest = SCENARIO_MARKER.findall(prompts[-1]) if prompts else []
    if latest:
        return latest[-1]
    for text in prompts:
        found = SCENARIO_MARKER.findall(text)
        if found:
            return found[-1]
    return DEFAULT_SCENARIO


def latest_prompt(messages: list[dict[str, Any]]) -> str:
    prompts = ["\n".join(_human_texts(m)) for m in messages if _is_prompt(m)]
    return prompts[-1] if prompts else ""


def turn_results(messages: list[dict[str, Any]]) -> list[ToolResult]:
    """Tool results since the latest prompt, in order (the prompt's own belong to the
    interrupted turn before it)."""
    results: list[ToolResult] = []
    for message in reversed(messages):
        if _is_prompt(message):
            break
        if message.get("role") != "user":
            continue
        blocks = [b for b in _blocks(message.get("content")) if b.get("type") == "tool_result"]
        results[:0] = [
            ToolResult(_result_text(b.get("content")), bool(b.get("is_error"))) for b in blocks
        ]
    return results


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(str(b.get("text", "")) for b in _blocks(content) if b.get("type") == "text")


def offered_tools(body: dict[str, Any]) -> frozenset[str]:
    return frozenset(str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict))


def step_index(messages: list[dict[str, Any]]) -> int:
    """Assistant turns since the latest human prompt = steps already played."""
    count = 0
    for message in reversed(messages):
        if _is_prompt(message):
            break
        if message.get("role") == "assistant":
            count += 1
    return count


def find_cwd(body: dict[str, Any]) -> str | None:
    match = CWD_PATTERN.search(_all_text(body))
    return match.group(1).strip() if match else None


def is_side_request(body: dict[str, Any]) -> bool:
    """Title generation, summaries, haiku calls: not the main agent loop."""
    tools = body.get("tools") or []
    if not tools:
        return True
    return "haiku" in str(body.get("model", "")).lower()


# --------------------------------------------------------------------------
# Building the reply
# --------------------------------------------------------------------------


def _fill(value: Any, variables: dict[str, Any]) -> Any:
    """Replace ``{{name}}`` placeholders recursively in strings."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [_fill(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, variables) for key, item in value.items()}
    return value


def _absolute_paths(tool_input: dict[str, Any], cwd: str | None) -> dict[str, Any]:
    """Anchor relative file_path values at the session cwd.

    The tool schemas demand absolute paths; CLI 2.1.331 happens to accept
    relative ones, but absolute paths are what hooks and UIs should see.
    """
    path = tool_input.get("file_path")
    if cwd and isinstance(path, str) and not os.path.isabs(path):
        return {**tool_input, "file_path": os.path.join(cwd, path)}
    return tool_input


def _step_tools(step: dict[str, Any]) -> list[dict[str, Any]]:
    if "tools" in step:
        return list(step["tools"])
    if "tool" in step:
        return [{"tool": step["tool"], "input": step.get("input", {})}]
    return []


def _tool_block(call: dict[str, Any], variables: dict[str, Any], cwd: str | None) -> dict[str, Any]:
    tool_input = _absolute_paths(_fill(call.get("input", {}), variables), cwd)
    return {
        "type": "tool_use",
        # Unique per call so a resumed conversation never sees duplicate ids.
        "id": f"toolu_scripted_{uuid.uuid4().hex[:20]}",
        "name": call["tool"],
        "input": tool_input,
    }


@dataclass
class Reply:
    """Content blocks plus stop reason and delay for one model response."""

    content: list[dict[str, Any]]
    stop_reason: str
    delay: float = 0.0


def plan_reply(body: dict[str, Any]) -> Reply:
    """Decide the response for a Messages API request body."""
    if is_side_request(body):
        return Reply([_text(f"{PREFIX} Scripted demo session")], "end_turn")
    messages = body.get("messages") or []
    prompt, cwd = latest_prompt(messages), find_cwd(body)
    if not SCENARIO_MARKER.search(prompt):
        step = plan_step(prompt, turn_results(messages), offered_tools(body), cwd)
        if step is not None:
            return _step_reply(step, {}, cwd, "Next step")
    scenario = load_scenario(pick_scenario_name(messages))
    index = step_index(messages)
    if index >= len(scenario.steps):
        done = f"{PREFIX} Scenario '{scenario.name}' is complete."
        return Reply([_text(done)], "end_turn")
    variables = {**scenario.variables, "cwd": cwd or ".", "scenario": scenario.name}
    step = {"delay": scenario.delay, **scenario.steps[index]}
    return _step_reply(step, variables, cwd, f"Step {index + 1}/{len(scenario.steps)}")


def _step_reply(
    step: dict[str, Any], variables: dict[str, Any], cwd: str | None, note: str
) -> Reply:
    delay = float(step.get("delay", 0))
    tools = _step_tools(step)
    if not tools:
        text = _fill(step.get("text", "Done."), variables)
        return Reply([_text(f"{PREFIX} {text}")], "end_turn", delay)
    content = [_text(f"{PREFIX} {_fill(step.get('text') or note, variables)}")]
    content += [_tool_block(call, variables, cwd) for call in tools]
    return Reply(content, "tool_use", delay)


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def estimate_tokens(payload: Any) -> int:
    """Rough 4-characters-per-token estimate; good enough for demo usage."""
    return max(1, len(json.dumps(payload, ensure_ascii=False)) // 4)


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    # The CLI reads the cache fields too; report them as zero explicitly.
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "standard",
    }


def message_json(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A complete non-streaming Messages API response."""
    return {
        "id": f"msg_scripted_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "scripted-demo-model",
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": _usage(estimate_tokens(body.get("messages", [])), estimate_tokens(reply.content)),
    }


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _chunks(text: str, size: int = 24) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    """content_block_start/delta/stop for one text or tool_use block."""
    if block["type"] == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": part} for part in _chunks(block["text"])]
    else:
        start = {**block, "input": {}}
        raw = json.dumps(block["input"])
        deltas = [{"type": "input_json_delta", "partial_json": part} for part in _chunks(raw)]
    events = [
        _sse(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    for delta in deltas:
        events.append(
            _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        )
    events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def stream_events(body: dict[str, Any], reply: Reply) -> list[bytes]:
    """The full SSE event sequence for one streamed response."""
    message = message_json(body, reply)
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [_sse("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(reply.content):
        events += _block_events(index, block)
    delta = {"stop_reason": reply.stop_reason, "stop_sequence": None}
    events.append(_sse("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    events.append(_sse("message_stop", {"type": "message_stop"}))
    return events


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive: the CLI reuses connections; every reply sets
    # Content-Length so nothing waits for a connection close.
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "ScriptedDemoModel/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") == "/v1/models":
            self._send_json(200, _models_list())
            return
        self._send_json(200, {"ok": True, "server": "scripted-demo-model"})

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = self._read_json()
        route = self.path.split("?")[0].rstrip("/")
        if route == "/v1/messages":
            self._messages(body)
        elif route == "/v1/messages/count_tokens":
            self._send_json(200, {"input_tokens": estimate_tokens(body)})
        else:
            logger.warning("scripted model: unknown path POST %s", self.path)
            self._send_json(404, _error("not_found_error", f"unknown path {self.path}"))

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _messages(self, body: dict[str, Any]) -> None:
        reply = plan_reply(body)
        delay = self.server.delay if self.server.delay is not None else reply.delay
        if delay > 0:
            time.sleep(delay)
        if body.get("stream"):
            self._send_bytes(200, b"".join(stream_events(body, reply)), "text/event-stream")
        else:
            self._send_json(200, message_json(body, reply))

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json")

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", f"req_scripted_{uuid.uuid4().hex[:16]}")
        self.send_header("x-scripted-demo-model", "1")
        self.end_headers()
        self.wfile.write(data)


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _models_list() -> dict[str, Any]:
    model = {"type": "model", "id": "scripted-demo-model", "display_name": "Scripted demo model"}
    return {"data": [model], "has_more": False, "first_id": model["id"], "last_id": model["id"]}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    delay: float | None = None


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


class ScriptedModelServer:
    """Run the scripted model on 127.0.0.1 in a daemon thread.

    ``delay`` (seconds) overrides every step's delay; by default the
    ``SCRIPTED_MODEL_DELAY`` env var, else the per-step ``delay`` values.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", delay: float | None = None) -> None:
        self._address = (host, port)
        env_delay = os.environ.get(DELAY_ENV)
        self._delay = delay if delay is not None else (float(env_delay) if env_delay else None)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ScriptedModelServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer(self._address, _Handler)
        self._httpd.delay = self._delay
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="scripted-model", daemon=True
        )
        self._thread.start()
        logger.info("scripted demo model listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._address[0]}:{self.port}"

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Offline scripted demo model (Anthropic Messages API)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--delay", type=float, default=None, help="seconds to wait before every reply"
    )
    parser.add_argument(
        "--scenario-table",
        action="store_true",
        help="print the README's table of shipped scenarios and exit",
    )
    args = parser.parse_args(argv)
    if args.scenario_table:
        print(scenario_table())
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = ScriptedModelServer(port=args.port, host=args.host, delay=args.delay).start()
    print(
        f"scripted demo model on {server.base_url} scenarios: {', '.join(scenario_names())}",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
