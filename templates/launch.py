"""From a template version to the session request it makes: the source a launch names, the
overrides deep-merged over the version's config, the prompt's variables filled in. What
comes out is checked by the sessions' own rules, exactly as a new session is."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from sessions.api.serializers import WRITABLE_ON_CREATE
from sessions.choices import ProjectType, SessionMode
from tenants import json_rules

from .config import VALUE_MAX
from .models import TemplateVersion

# What a launch may override: the session fields a client chooses on create, bar the mode
# (a template is run by the orchestrator: managed).
OVERRIDABLE = tuple(sorted(WRITABLE_ON_CREATE - {"mode"}))
SOURCE_FIELDS = ("github_repo", "local_path", "git_ref")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
NAME_MAX = 200


def deep_merge(base: dict, changes: dict) -> dict:
    """`changes` over `base` (JSON merge patch, RFC 7386): objects merge key by key, `null`
    removes a key, anything else replaces."""
    merged = dict(base)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def session_request(
    version: TemplateVersion, *, source: dict, variables: dict, overrides: dict
) -> dict:
    """The new session's fields (before the sessions' validation), or a ValidationError
    naming the variable or override that is wrong."""
    _check_overrides(overrides)
    config = version.config
    request = {
        "name": version.name,
        "mode": SessionMode.MANAGED,
        "project_type": config.get("project_type") or ProjectType.GITHUB,
        "github_repo": config.get("github_repo", ""),
        "git_ref": config.get("git_ref", ""),
        "local_path": config.get("local_path", ""),
        "initial_prompt": config.get("initial_prompt", ""),
        "metadata": dict(config.get("metadata") or {}),
    }
    request = deep_merge(deep_merge(request, _source(source)), overrides)
    values = variable_values(version, variables, automatic=_automatic(request))
    request["initial_prompt"] = fill(str(request.get("initial_prompt") or ""), values)
    if "name" not in overrides:
        request["name"] = _default_name(version.name, values.get("repo", ""))
    _check_auto_close(request)
    return request


def _check_overrides(overrides: object) -> None:
    if not isinstance(overrides, dict):
        raise ValidationError({"overrides": ["overrides is an object of session fields."]})
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValidationError(
            {
                "overrides": [
                    f"Cannot override {', '.join(unknown)}; a launch may override "
                    f"{', '.join(OVERRIDABLE)}."
                ]
            }
        )


def _source(source: dict) -> dict:
    """The launch's source, which says the project type by which field it gives."""
    given = {key: value for key, value in source.items() if value}
    if given.get("github_repo"):
        return {"project_type": ProjectType.GITHUB, "local_path": "", **given}
    if given.get("local_path"):
        return {"project_type": ProjectType.LOCAL, "github_repo": "", "git_ref": "", **given}
    return given


def _automatic(request: dict) -> dict:
    """Values `repo` and `branch` take from the source when the launch does not give them."""
    repo = request.get("github_repo") or request.get("local_path") or ""
    return {"repo": str(repo), "branch": str(request.get("git_ref") or "")}


def variable_values(version: TemplateVersion, given: object, *, automatic: dict) -> dict:
    """Each declared variable's value: given, else from the source, else its default.
    A missing required one, or one the template does not declare, is a 400 naming it."""
    if not isinstance(given, dict):
        raise ValidationError({"variables": ["variables is an object of name: value."]})
    declared = {v["name"]: v for v in version.config.get("variables", [])}
    extra = sorted(set(given) - set(declared))
    if extra:
        names = ", ".join(declared) or "none"
        raise ValidationError(
            {
                "variables": [
                    f"{name}: not declared by this template (it declares {names})."
                    for name in extra
                ]
            }
        )
    values = {name: _value(name, given[name]) for name in given}
    for name, variable in declared.items():
        if not values.get(name):
            values[name] = automatic.get(name) or variable["default"]
    missing = [name for name, v in declared.items() if v["required"] and not values[name]]
    if missing:
        raise ValidationError(
            {
                "variables": [
                    f"{name}: required by this template; give it a value." for name in missing
                ]
            }
        )
    return values


def _value(name: str, value: object) -> str:
    """A variable's value as text: a string or a whole number (a PR number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > VALUE_MAX:
        raise ValidationError(
            {"variables": [f"{name}: text or a whole number, at most {VALUE_MAX} characters."]}
        )
    try:
        json_rules.check_text(value, f"variables.{name}")
    except json_rules.HostileValue as exc:
        raise ValidationError({"variables": [str(exc)]}) from None
    return value


def fill(prompt: str, values: dict) -> str:
    """The prompt with each declared `{name}` replaced; other braces (code in a prompt) stay."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), prompt)


def _default_name(template_name: str, repo: str) -> str:
    return (f"{template_name}: {repo}" if repo else template_name)[:NAME_MAX]


def _check_auto_close(request: dict) -> None:
    metadata = request.get("metadata")
    auto_close = isinstance(metadata, dict) and metadata.get("autoClose") is True
    if auto_close and not request.get("initial_prompt"):
        raise ValidationError(
            {"initial_prompt": ["An auto-close session runs one turn: it needs a prompt."]}
        )
