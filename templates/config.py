"""A template version's config: the session request it makes, with declared variables.

    {
      "initial_prompt": "Review {repo} on {branch} ...",
      "variables": [{"name": "branch", "default": "main", "required": false,
                     "description": "..."}],
      "project_type": "github", "github_repo": "", "git_ref": "", "local_path": "",
      "metadata": {"model": ..., "allowedTools": [...], "permissionMode": ..., "maxTurns": 30,
                   "maxDuration": 7200, "autoClose": true}
    }

Every key is optional. `metadata` holds the agent options a session takes and nothing else
(`maxDuration` also accepts a human duration, stored as seconds); a budget and opening a pull
request join it when billing and the integrations exist, as new keys: nothing to migrate.
A config is checked whole when a version is saved; launching checks the session it makes
exactly as any new session is checked.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from sessions import agent_options
from sessions.choices import ProjectType
from sessions.validators import validate_github_repo
from tenants import json_rules
from tenants.models import Organization

from . import durations

CONFIG_MAX_BYTES = 128 * 1024
PROMPT_MAX = 100_000
TEXT_FIELDS = {"github_repo": 500, "git_ref": 255, "local_path": 1000}
KEYS = {"initial_prompt", "variables", "project_type", "metadata", *TEXT_FIELDS}
AGENT_KEYS = (
    "model",
    "allowedTools",
    "permissionMode",
    "maxTurns",
    "maxDuration",
    "autoClose",
    # Read by the integrations: after each turn of a pull request's session, the changes are
    # pushed to a branch and a pull (merge) request is opened for them.
    "createPullRequest",
)

MAX_VARIABLES = 20
VARIABLE_KEYS = {"name", "default", "required", "description"}
VARIABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
VALUE_MAX = 1000
DESCRIPTION_MAX = 500
# The variables the seed names; any other declared name works alike.
WELL_KNOWN_VARIABLES = ("repo", "branch", "pr_number", "pr_title")


def invalid(message: str) -> ValidationError:
    return ValidationError({"config": [message]})


def validate_config(config: object, *, organization: Organization | None) -> dict:
    """The config cleaned (durations in seconds), or a ValidationError naming the key."""
    config = json_rules.validate_object(config, field="config", max_bytes=CONFIG_MAX_BYTES)
    unknown = sorted(set(config) - KEYS)
    if unknown:
        raise invalid(
            f"Unknown key(s) {', '.join(unknown)}; a config has {', '.join(sorted(KEYS))}."
        )
    cleaned = {key: value for key, value in config.items() if key not in ("variables", "metadata")}
    _check_prompt(cleaned.get("initial_prompt", ""))
    _check_project(cleaned)
    cleaned["variables"] = validate_variables(config.get("variables", []))
    cleaned["metadata"] = validate_agent_settings(config.get("metadata", {}), organization)
    return cleaned


def _check_prompt(prompt: object) -> None:
    if not isinstance(prompt, str) or len(prompt) > PROMPT_MAX:
        raise invalid(f"initial_prompt is text of at most {PROMPT_MAX} characters.")


def _check_project(config: dict) -> None:
    project_type = config.get("project_type", "")
    if project_type not in ("", *ProjectType.values):
        raise invalid(f"project_type is one of {', '.join(ProjectType.values)}.")
    for key, limit in TEXT_FIELDS.items():
        value = config.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            raise invalid(f"{key} is text of at most {limit} characters.")
    if config.get("github_repo"):
        try:
            validate_github_repo(config["github_repo"])
        except ValidationError as exc:
            raise invalid(f"github_repo: {' '.join(exc.messages)}") from None


def validate_variables(variables: object) -> list[dict]:
    if not isinstance(variables, list) or len(variables) > MAX_VARIABLES:
        raise invalid(f"variables is a list of at most {MAX_VARIABLES} declarations.")
    cleaned, seen = [], set()
    for index, declared in enumerate(variables):
        variable = _variable(declared, f"variables[{index}]")
        if variable["name"] in seen:
            raise invalid(f"variables: {variable['name']} is declared twice.")
        seen.add(variable["name"])
        cleaned.append(variable)
    return cleaned


def _variable(declared: object, where: str) -> dict:
    if not isinstance(declared, dict) or set(declared) - VARIABLE_KEYS:
        raise invalid(f"{where} is an object with {', '.join(sorted(VARIABLE_KEYS))}.")
    name = declared.get("name")
    if not isinstance(name, str) or not VARIABLE_NAME.match(name):
        raise invalid(
            f"{where}.name is a lowercase name (letters, digits, _; at most 40), like pr_number."
        )
    default, description = declared.get("default", ""), declared.get("description", "")
    if not isinstance(default, str) or len(default) > VALUE_MAX:
        raise invalid(f"{where}.default ({name}) is text of at most {VALUE_MAX} characters.")
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        raise invalid(f"{where}.description is text of at most {DESCRIPTION_MAX} characters.")
    required = declared.get("required", False)
    if not isinstance(required, bool):
        raise invalid(f"{where}.required ({name}) is true or false.")
    return {"name": name, "default": default, "required": required, "description": description}


def validate_agent_settings(metadata: object, organization: Organization | None) -> dict:
    """The agent options of a template, checked by the sessions' own rule (its form; who may
    set a privileged option is checked when someone launches it)."""
    if not isinstance(metadata, dict):
        raise invalid("metadata is an object of agent settings.")
    unknown = sorted(set(metadata) - set(AGENT_KEYS))
    if unknown:
        raise invalid(f"metadata may set {', '.join(AGENT_KEYS)} (not {', '.join(unknown)}).")
    cleaned = dict(metadata)
    if "maxDuration" in cleaned:
        try:
            cleaned["maxDuration"] = durations.seconds(cleaned["maxDuration"])
        except durations.NotADuration as exc:
            raise invalid(f"metadata.maxDuration is {exc}.") from None
    errors = agent_options.form_errors(cleaned, organization)
    if not isinstance(cleaned.get("createPullRequest", False), bool):
        errors.append("createPullRequest must be true or false.")
    if errors:
        raise ValidationError({"config": [f"metadata: {error}" for error in errors]})
    return cleaned
