"""The `.claude/settings.json` hooks block that attaches a Claude Code to a session."""

from __future__ import annotations

import shlex

# Every event ingestion understands; tool events take a matcher, the others do not.
TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure")
OTHER_EVENTS = (
    "UserPromptSubmit",
    "Notification",
    "Stop",
    "SubagentStop",
    "PreCompact",
    "SessionStart",
    "SessionEnd",
)


# Claude Code runs only command hooks for these; it skips http hooks registered on them.
COMMAND_ONLY_EVENTS = ("SessionStart",)


def _block(hook: dict) -> dict:
    hooks = {name: [{"matcher": "*", "hooks": [hook]}] for name in TOOL_EVENTS}
    others = [e for e in OTHER_EVENTS if hook["type"] == "command" or e not in COMMAND_ONLY_EVENTS]
    hooks.update({name: [{"hooks": [hook]}] for name in others})
    return {"hooks": hooks}


def http_settings(*, base_url: str, token: str) -> dict:
    """Claude Code posts each event itself (`http` hooks)."""
    return _block(
        {
            "type": "http",
            "url": f"{base_url}/api/hooks/",
            "headers": {"Authorization": f"Bearer {token}"},
            "timeout": 10,
        }
    )


def command_settings(*, base_url: str, token: str) -> dict:
    """Claude Code runs the hook client, which spools events while the server is away."""
    command = shlex.join(["claude-orchestrator-hook", "--url", base_url, "--token", token])
    return _block({"type": "command", "command": command, "timeout": 15})
