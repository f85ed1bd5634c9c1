"""What an organization's settings say about its agents: the tools its members may choose
from and the limits every session of it runs under. Sessions read them through here."""

from __future__ import annotations

MAX_TURNS_CEILING = 1000
MAX_DURATION_CEILING = 86400
MAX_TOOLS = 100
MAX_TOOL_NAME = 200


def is_tool_list(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= MAX_TOOLS
        and all(isinstance(t, str) and 0 < len(t) <= MAX_TOOL_NAME for t in value)
    )


def is_whole_number(value: object, upper: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= upper


def errors_in(settings: dict) -> list[str]:
    """What is wrong with the agent keys of an organization's settings (others are free)."""
    errors = []
    if "allowedTools" in settings and not is_tool_list(settings["allowedTools"]):
        errors.append(
            f"allowedTools must be a list of at most {MAX_TOOLS} tool names "
            f"(each 1 to {MAX_TOOL_NAME} characters)."
        )
    for key, upper in (("maxTurns", MAX_TURNS_CEILING), ("maxDuration", MAX_DURATION_CEILING)):
        if key in settings and not is_whole_number(settings[key], upper):
            errors.append(f"{key} must be a whole number from 1 to {upper}.")
    return errors


def allowed_tools(organization, default: list[str]) -> list[str]:
    """The tools members may give sessions without an admin: the organization's list, or
    the server's default (AGENT_ALLOWED_TOOLS)."""
    tools = (organization.settings or {}).get("allowedTools") if organization else None
    return tools if is_tool_list(tools) else list(default)


def limit(organization, key: str, ceiling: int) -> int:
    """The organization's upper bound for maxTurns or maxDuration (the ceiling when unset)."""
    value = (organization.settings or {}).get(key) if organization else None
    return value if is_whole_number(value, ceiling) else ceiling
