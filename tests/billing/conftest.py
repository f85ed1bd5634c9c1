"""Billing's fixtures: rates and prices made through the services, and tool events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import seed, services
from billing.models import ModelPrice, ToolRate
from sessions.ingest import ingest

# The real agent's fixtures: a repository to clone, settings that run turns in this process.
from tests.sessions.conftest import agent_settings, git_repo  # noqa: F401


@pytest.fixture
def seeded(db):
    """The seed's rates and prices (a transactional test elsewhere may have flushed the rows
    the migration made)."""
    seed.install(ToolRate, ModelPrice)


def set_rate(superuser, tool: str, per_execution: str, per_kb: str = "0", organization=None):
    return services.add_tool_rate(
        actor=superuser,
        organization=organization,
        tool=tool,
        per_execution_usd=Decimal(per_execution),
        per_kb_output_usd=Decimal(per_kb),
    )


def set_price(superuser, model: str, inp: str, out: str, write: str = "0", read: str = "0"):
    return services.add_model_price(
        actor=superuser,
        model=model,
        input_per_mtok=Decimal(inp),
        output_per_mtok=Decimal(out),
        cache_write_per_mtok=Decimal(write),
        cache_read_per_mtok=Decimal(read),
    )


def soon(seconds: int = 0):
    return timezone.now() + timedelta(seconds=seconds)


def pre(tool_use_id: str, tool: str = "Bash") -> dict:
    return {
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": {"command": "echo hi"},
        "tool_use_id": tool_use_id,
    }


def post(tool_use_id: str, tool: str = "Bash", output: str = "hi") -> dict:
    return {
        "hook_event_name": "PostToolUse",
        "tool_name": tool,
        "tool_input": {"command": "echo hi"},
        "tool_response": {"stdout": output, "stderr": ""},
        "tool_use_id": tool_use_id,
    }


def assistant(message_id: str, *, text: str = "", model: str = "claude-sonnet-4-5", **usage):
    return {
        "hook_event_name": "AssistantMessage",
        "text": text,
        "model": model,
        "message_id": message_id,
        "usage": {"input_tokens": 0, "output_tokens": 0, **usage},
    }


def tool_call(session, tool_use_id: str, tool: str = "Bash", output: str = "hi") -> dict:
    """A PreToolUse then, if allowed, its PostToolUse; the PreToolUse answer."""
    answer = ingest(session=session, payload=pre(tool_use_id, tool)).response
    if answer.get("hookSpecificOutput", {}).get("permissionDecision") != "deny":
        ingest(session=session, payload=post(tool_use_id, tool, output))
    return answer


def denied(answer: dict) -> str | None:
    output = answer.get("hookSpecificOutput", {})
    return (
        output.get("permissionDecisionReason")
        if output.get("permissionDecision") == "deny"
        else None
    )
