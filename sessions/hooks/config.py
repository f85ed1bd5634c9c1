"""The `.claude/settings.json` hooks block that attaches a Claude Code to a session."""

from __future__ import annotations

import shlex

from ..choices import SessionMode
from .tokens import PLACEHOLDER

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


ROTATE_HINT = (
    "The hook token is shown once, when the session is created or its token rotated. "
    "Rotate it (POST /api/sessions/{id}/hook-config/rotate/, or 'New token' on the hook "
    "configuration page) to get blocks with a working token; the old token stops working."
)
MANAGED_NOTE = (
    "This is a managed session: its runner records its events in-process and its hook "
    "endpoint refuses posts. Create an attached session to report from your own Claude Code."
)


def telemetry_env(*, base_url: str, token: str) -> dict:
    """Claude Code's OpenTelemetry export, pointed at the OTLP receiver (billing): the
    environment to start Claude Code with; its tokens and cost then count here too."""
    return {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        # Each export then carries what happened since the last one: added, never re-counted.
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"{base_url}/api/otlp",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer {token}",
    }


def describe(*, session, base_url: str, token: str = "") -> dict:
    """What hook-config shows. An attached session gets its settings blocks, with `token`
    filled in when one was just issued, else a placeholder and how to get a new one; a managed
    session gets why it has none."""
    if session.mode == SessionMode.MANAGED:
        return {"session": session.pk, "managed": True, "note": MANAGED_NOTE}
    shown = token or PLACEHOLDER
    return {
        "session": session.pk,
        "managed": False,
        "token": token,
        "note": "" if token else ROTATE_HINT.replace("{id}", str(session.pk)),
        "url": f"{base_url}/api/hooks/",
        "http_settings": http_settings(base_url=base_url, token=shown),
        "command_settings": command_settings(base_url=base_url, token=shown),
        "telemetry_env": telemetry_env(base_url=base_url, token=shown),
    }
