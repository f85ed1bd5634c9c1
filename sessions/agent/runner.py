"""The agent runner: one turn of a managed session with claude-agent-sdk.

The turn runs Claude Code in the session's jail (`jail/`), with the workspace as its working
directory and an environment built from an allow-list (`setup`). Its hook callbacks and the message
stream (assistant text, the final result) all go to `ingest()`. A watcher beats the session's
heartbeat and interrupts the turn when the session is stopped; `maxDuration` bounds it.
Whatever goes wrong ends the session in `error` with the reason: never stuck in `running`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections import deque
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from pathlib import Path

from asgiref.sync import sync_to_async
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    HookMatcher,
    ResultMessage,
    StreamEvent,
    TextBlock,
)
from django.conf import settings
from django.db import connections

from tenants.tenancy import session_context

from .. import services
from ..choices import SessionStatus
from ..ingest import ASSISTANT_MESSAGE, TURN_RESULT, ingest
from ..models import Session, session_budget
from . import setup
from .jail import egress, sandbox

logger = logging.getLogger(__name__)

# The hook events the SDK delivers to in-process callbacks.
SDK_HOOK_EVENTS = (
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "UserPromptSubmit",
    "Stop",
    "SubagentStop",
    "PreCompact",
    "Notification",
)


PIPE_CLOSE_GRACE = 0.05  # seconds


class TurnFailed(Exception):
    pass


def run_turn(session_id, turn_id, prompt: str | None) -> None:
    """Prepare the workspace if still needed, then run one turn with `prompt`, as the
    session's organization (a worker thread or a Celery task starts with no context; the
    event loop and sync_to_async threads below inherit this one)."""
    with session_context(session_id):
        _run_turn(session_id, turn_id, prompt)


def _run_turn(session_id, turn_id, prompt: str | None) -> None:
    if not services.claim_turn(session_id=session_id, turn_id=turn_id):
        logger.info("turn %s of session %s is not ours to run", turn_id, session_id)
        return
    session = Session.objects.get(pk=session_id)
    try:
        jailed = sandbox.should_jail()
    except sandbox.SandboxUnavailable as exc:
        services.abandon_turn(session=session, actor="runner", reason=str(exc))
        return
    if not jailed:
        services.mark_unsandboxed(session=session)
    if session.status == SessionStatus.PREPARING:
        session = services.prepare_session_workspace(session=session)
        if session.status != SessionStatus.PREPARING:
            return
        if not prompt:
            services.transition_session(
                session=session, to=SessionStatus.IDLE, reason="Workspace ready."
            )
            return
        session = services.transition_session(session=session, to=SessionStatus.RUNNING)
    if session.status != SessionStatus.RUNNING or not prompt:
        logger.info("session %s is %s; turn not run", session.pk, session.status)
        return
    try:
        asyncio.run(_run(session, prompt, jailed=jailed))
    except Exception as exc:
        logger.exception("turn of session %s failed", session.pk)
        services.fail_session(session=session, reason=_reason(exc))
    finally:
        # The turn's database work ran in sync_to_async's shared thread; release its
        # connection rather than leave it open between turns.
        asyncio.run(sync_to_async(connections.close_all)())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "The turn exceeded its maxDuration and was interrupted."
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _run(session: Session, prompt: str, *, jailed: bool) -> None:
    stderr: deque[str] = deque(maxlen=20)
    limit = session.metadata.get("maxDuration") or settings.AGENT_MAX_DURATION
    # The turn's private folder on the host: the jail's stub /etc files and its sockets out.
    with tempfile.TemporaryDirectory(prefix="agent-turn-") as run_dir:
        agent, options = build_options(session, stderr, jailed=jailed, run_dir=Path(run_dir))
        try:
            async with _ways_out(agent), ClaudeSDKClient(options=options) as client:
                watcher = asyncio.create_task(_watch(session.pk, client))
                try:
                    await asyncio.wait_for(_converse(session, client, prompt), timeout=limit)
                finally:
                    watcher.cancel()
        except TimeoutError:
            raise
        except Exception as exc:
            tail = " | ".join(stderr)
            raise TurnFailed(f"{exc}{' | stderr: ' + tail if tail else ''}") from exc
        finally:
            # The CLI's pipes finish closing in callbacks on this loop; let them run before
            # asyncio.run closes it (the jail's chain of processes exits a little later).
            await asyncio.sleep(PIPE_CLOSE_GRACE)


def _ways_out(agent: setup.AgentSetup) -> contextlib.AbstractAsyncContextManager:
    if not agent.jailed:
        return contextlib.nullcontext()
    return egress.serving(agent.sockets, model=agent.model_pipe, allowed=agent.allowed)


async def _converse(session: Session, client: ClaudeSDKClient, prompt: str) -> None:
    record = sync_to_async(ingest)
    usage = ResponseUsage()
    await client.query(prompt)
    async for message in client.receive_response():
        if isinstance(message, StreamEvent):
            payload = usage.seen(message)
            if payload is not None:
                await record(session=session, payload=payload, event_id=f"usage:{message.uuid}")
        elif isinstance(message, AssistantMessage):
            for index, block in enumerate(message.content):
                if isinstance(block, TextBlock) and block.text:
                    await record(
                        session=session,
                        payload={"hook_event_name": ASSISTANT_MESSAGE, "text": block.text},
                        event_id=f"{message.uuid or id(message)}:{index}",
                    )
        elif isinstance(message, ResultMessage):
            await record(session=session, payload=_result_payload(message))


class ResponseUsage:
    """Each model response's usage once it is final, from the stream (`message_delta`), so
    that billing prices it as the turn goes. An AssistantMessage carries only what
    `message_start` said (one output token so far), and repeats it for each content block."""

    def __init__(self) -> None:
        # Per agent (the main one, and each subagent's stream by its parent tool call).
        self.open: dict[str | None, tuple[str, str, dict]] = {}

    def seen(self, message: StreamEvent) -> dict | None:
        """The usage event to record for a stream event, if it ends a response."""
        event, agent = message.event, message.parent_tool_use_id
        if event.get("type") == "message_start":
            started = event.get("message") or {}
            usage = started.get("usage") if isinstance(started.get("usage"), dict) else {}
            ident, model = str(started.get("id") or ""), str(started.get("model") or "")
            self.open[agent] = (ident, model, usage)
            return None
        if event.get("type") != "message_delta" or agent not in self.open:
            return None
        message_id, model, usage = self.open.pop(agent)
        final = event.get("usage") if isinstance(event.get("usage"), dict) else {}
        usage = {**usage, **{k: v for k, v in final.items() if v is not None}}
        return {
            "hook_event_name": ASSISTANT_MESSAGE,
            "text": "",
            "message_id": message_id or message.uuid,
            "model": model,
            "usage": usage,
        }


def _result_payload(result: ResultMessage) -> dict:
    data = asdict(result) if is_dataclass(result) else dict(vars(result))
    data["hook_event_name"] = TURN_RESULT
    return data


async def _watch(session_id, client: ClaudeSDKClient) -> None:
    """Heartbeat, and interrupt the turn once the session is stopped. The interrupt repeats
    each beat until the turn ends (this task is cancelled then): Claude Code drops one that
    arrives between a tool result and its next model request. Meanwhile ingestion denies
    every tool call of a stopped session, so nothing more runs."""
    beat = sync_to_async(services.record_heartbeat)
    while True:
        try:
            status = await beat(session_id=session_id)
        except Exception:
            # A missed beat is not a reason to stop watching (nor to stop the turn).
            logger.exception("heartbeat of session %s failed", session_id)
            status = None
        if status in (SessionStatus.STOPPED, SessionStatus.BUDGET_EXCEEDED):
            logger.info("session %s %s: interrupting the turn", session_id, status)
            try:
                await client.interrupt()
            except Exception:
                logger.exception("interrupting session %s failed", session_id)
        await asyncio.sleep(settings.AGENT_HEARTBEAT_SECONDS)


def build_options(
    session: Session, stderr: deque[str], *, jailed: bool, run_dir: Path
) -> tuple[setup.AgentSetup, ClaudeAgentOptions]:
    meta = session.metadata
    permission_mode = meta.get("permissionMode") or settings.AGENT_PERMISSION_MODE
    agent = setup.prepare(session, jailed=jailed, run_dir=run_dir, permission_mode=permission_mode)
    return agent, ClaudeAgentOptions(
        cwd=session.project_path,
        # The SDK starts the launcher in place of the CLI, which drops the server's environment
        # (the SDK passes it on) and starts the jail.
        cli_path=str(sandbox.launcher_path()),
        env=sandbox.launch_environment(agent.launch),
        permission_mode=permission_mode,
        allowed_tools=meta.get("allowedTools") or list(settings.AGENT_ALLOWED_TOOLS),
        model=meta.get("model") or settings.AGENT_MODEL or None,
        max_turns=meta.get("maxTurns") or settings.AGENT_MAX_TURNS,
        # The stream's events: each model response's final usage, priced as the turn goes.
        include_partial_messages=True,
        # A backstop: Claude Code stops by itself once it has spent the rest of the budget.
        max_budget_usd=_remaining_budget(session),
        # Only what the runner itself learned from this session's own turn results.
        resume=session.agent_session_id or None,
        hooks=_hooks(session),
        stderr=stderr.append,
    )


def _remaining_budget(session: Session) -> float | None:
    limit = session_budget(session)
    if limit is None:
        return None
    return float(max(limit - session.cost_usd, Decimal(0)))


def _hooks(session: Session) -> dict[str, list[HookMatcher]]:
    record = sync_to_async(ingest)

    async def forward(input_data: dict, tool_use_id: str | None, context) -> dict:
        result = await record(session=session, payload=dict(input_data))
        return result.response

    return {name: [HookMatcher(hooks=[forward])] for name in SDK_HOOK_EVENTS}
