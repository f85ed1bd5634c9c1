"""What an organization's settings say about its agents: the tools its members may choose
from and the limits every session of it runs under. Sessions read them through here."""

from __future__ import annotations

from collections.abc import Callable

from .choices import SessionVisibility

# Claude Code's permission modes (sessions/agent_options.py says who may choose which).
PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions")
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


# Keys of an organization's settings that this module gives a meaning to.
SESSION_DEFAULTS = "sessionDefaults"
SESSION_VISIBILITY = "sessionVisibility"
# The agent options a new session takes from the organization where its metadata is silent.
DEFAULT_KEYS = ("model", "allowedTools", "permissionMode", "maxTurns", "maxDuration")

# How session defaults are checked: the sessions app installs its metadata rule here
# (sessions/agent_options.py) in its AppConfig.ready(), so the defaults are validated exactly
# as a session's metadata is, without tenants importing sessions.
DefaultsCheck = Callable[[dict, dict], list[str]]
_defaults_check: DefaultsCheck | None = None


def install_defaults_check(check: DefaultsCheck) -> None:
    global _defaults_check
    _defaults_check = check


def errors_in(settings: dict) -> list[str]:
    """What is wrong with the agent keys of an organization's settings (others are free)."""
    errors = _limit_errors(settings)
    errors += _defaults_errors(settings)
    visibility = settings.get(SESSION_VISIBILITY)
    if visibility is not None and visibility not in SessionVisibility.values:
        errors.append(f"{SESSION_VISIBILITY} must be one of {', '.join(SessionVisibility.values)}.")
    return errors


def _defaults_errors(settings: dict) -> list[str]:
    defaults = settings.get(SESSION_DEFAULTS)
    if defaults is None:
        return []
    if not isinstance(defaults, dict):
        return [f"{SESSION_DEFAULTS} must be an object."]
    unknown = sorted(set(defaults) - set(DEFAULT_KEYS))
    if unknown:
        return [
            f"{SESSION_DEFAULTS} may only set {', '.join(DEFAULT_KEYS)} (not {', '.join(unknown)})."
        ]
    if _defaults_check is None:
        return []
    return [f"{SESSION_DEFAULTS}: {error}" for error in _defaults_check(defaults, settings)]


def _limit_errors(settings: dict) -> list[str]:
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


def session_defaults(organization) -> dict:
    """The agent options a new session of the organization starts with (only those set)."""
    defaults = (organization.settings or {}).get(SESSION_DEFAULTS) if organization else None
    if not isinstance(defaults, dict):
        return {}
    return {key: defaults[key] for key in DEFAULT_KEYS if key in defaults}


def session_visibility(organization) -> str:
    value = (organization.settings or {}).get(SESSION_VISIBILITY) if organization else None
    return value if value in SessionVisibility.values else SessionVisibility.ORGANIZATION
