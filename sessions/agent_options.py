"""Which agent options a session's metadata may carry, and who may set each: the one rule,
applied alike on create, on PATCH and in the operations console.

- Anyone who may start sessions may choose `model`, `maxTurns` and `maxDuration` (within
  the organization's limits, `maxTurns` and `maxDuration` in its settings), a permission mode
  other than `bypassPermissions`, and tools from the organization's allowed list (its
  settings' `allowedTools`, else AGENT_ALLOWED_TOOLS).
- `bypassPermissions` and tools beyond that list are for organization admins (and platform
  superusers, and the system itself).
- On PATCH a privileged value an admin set may be kept by anyone: the rule is about setting.
- `autoClose` (true or false): the session completes after its first turn and takes no
  follow-up (a template's setting); once on, a PATCH cannot turn it off.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings

from tenants import org_settings
from tenants.models import Organization, User

PERMISSION_MODES = org_settings.PERMISSION_MODES
ADMIN_ONLY_MODE = "bypassPermissions"
MAX_MODEL_NAME = 100


def form_errors(metadata: dict, organization: Organization | None) -> list[str]:
    """What is wrong with the options themselves, whoever sets them."""
    errors = []
    mode = metadata.get("permissionMode")
    if mode is not None and mode not in PERMISSION_MODES:
        errors.append(f"permissionMode must be one of {', '.join(PERMISSION_MODES)}.")
    tools = metadata.get("allowedTools")
    if tools is not None and not org_settings.is_tool_list(tools):
        errors.append(
            f"allowedTools must be a list of at most {org_settings.MAX_TOOLS} tool names."
        )
    model = metadata.get("model")
    if model is not None and not (isinstance(model, str) and 0 < len(model) <= MAX_MODEL_NAME):
        errors.append(f"model must be a model name of 1 to {MAX_MODEL_NAME} characters.")
    budget = metadata.get("budget")  # the seed's session budget (budget_limit wins)
    number = isinstance(budget, int | float) and not isinstance(budget, bool)
    if budget is not None and not (number and 0 <= budget <= 1_000_000):
        errors.append("budget must be an amount in USD from 0 to 1000000.")
    auto_close = metadata.get("autoClose")
    if auto_close is not None and not isinstance(auto_close, bool):
        errors.append("autoClose must be true or false.")
    for key, ceiling in (
        ("maxTurns", org_settings.MAX_TURNS_CEILING),
        ("maxDuration", org_settings.MAX_DURATION_CEILING),
    ):
        upper = org_settings.limit(organization, key, ceiling)
        value = metadata.get(key)
        if value is not None and not org_settings.is_whole_number(value, upper):
            errors.append(f"{key} must be a whole number from 1 to {upper}.")
    return errors


def role_errors(
    metadata: dict, *, actor: User | None, organization: Organization | None, current: dict
) -> list[str]:
    """What this actor may not set (nothing, for admins, superusers and the system)."""
    if actor is None or actor.is_superuser or actor.is_org_admin:
        return []
    errors = []
    mode = metadata.get("permissionMode")
    if mode == ADMIN_ONLY_MODE and current.get("permissionMode") != ADMIN_ONLY_MODE:
        errors.append(f"Only organization admins may set permissionMode {ADMIN_ONLY_MODE}.")
    tools = metadata.get("allowedTools") or []
    allowed = {
        *org_settings.allowed_tools(organization, settings.AGENT_ALLOWED_TOOLS),
        *(current.get("allowedTools") or []),
    }
    beyond = [tool for tool in tools if tool not in allowed]
    if beyond:
        errors.append(
            f"Only organization admins may allow tools beyond the organization's list: "
            f"{', '.join(beyond)}."
        )
    return errors


def auto_close_errors(metadata: dict, current: dict) -> list[str]:
    """An auto-close session stays one: its follow-ups are refused, whoever asks."""
    if current.get("autoClose") is True and metadata.get("autoClose") is not True:
        return ["autoClose cannot be turned off: the session took its one turn's settings."]
    return []


def defaults_errors(defaults: dict, organization_settings: dict) -> list[str]:
    """What is wrong with an organization's defaults for new sessions: the metadata rule,
    under the limits of the settings being saved (not the ones stored now)."""
    return form_errors(defaults, SimpleNamespace(settings=organization_settings))


def with_defaults(metadata: dict, organization: Organization | None) -> tuple[dict, dict]:
    """The metadata with the organization's defaults filled in where it is silent, and the
    defaults that were used (a privileged default an admin chose may be kept by anyone, as
    on PATCH)."""
    applied = {
        key: value
        for key, value in org_settings.session_defaults(organization).items()
        if key not in metadata
    }
    return {**metadata, **applied}, applied
