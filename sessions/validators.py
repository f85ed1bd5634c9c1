"""Checks of what a client asks a session to work on; each raises a field-level error."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError

from tenants import json_rules

from .choices import ProjectType
from .workspaces.paths import PathOutsideRoot, resolve_inside

_OWNER_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_GIT_URL = re.compile(r"^(?:(?:https?|ssh|git|file)://\S+|[\w.-]+@[\w.-]+:\S+)$")


def validate_github_repo(value: str) -> str:
    value = value.strip()
    if _OWNER_NAME.match(value) and not value.endswith((".", "..")):
        return value
    if _GIT_URL.match(value) and ".." not in value.split("/"):
        return value
    raise ValidationError({"github_repo": "Give the repository as owner/name or as a git URL."})


def validate_local_path(value: str) -> str:
    roots = settings.LOCAL_PROJECT_ROOTS
    if not roots:
        raise ValidationError(
            {"local_path": "Local sessions are disabled: LOCAL_PROJECT_ROOTS is not set."}
        )
    try:
        return str(resolve_inside(value, roots))
    except PathOutsideRoot as exc:
        raise ValidationError({"local_path": str(exc)}) from exc


def validate_project(*, project_type: str, github_repo: str, local_path: str) -> dict:
    """The cleaned project fields for a session, or a ValidationError naming the field."""
    if project_type == ProjectType.GITHUB:
        if not github_repo:
            raise ValidationError({"github_repo": "Required for a github session."})
        if local_path:
            raise ValidationError({"local_path": "Only for local sessions."})
        return {"github_repo": validate_github_repo(github_repo), "local_path": ""}
    if project_type == ProjectType.LOCAL:
        if not local_path:
            raise ValidationError({"local_path": "Required for a local session."})
        if github_repo:
            raise ValidationError({"github_repo": "Only for github sessions."})
        return {"github_repo": "", "local_path": validate_local_path(local_path)}
    raise ValidationError({"project_type": f"Unknown project type {project_type!r}."})


PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions")


# Metadata is free-form beyond the agent options; it is bounded all the same.
METADATA_MAX_BYTES = 16 * 1024


def validate_metadata_shape(metadata: object) -> dict:
    """Any session metadata: a JSON object of storable values, at most METADATA_MAX_BYTES."""
    if not isinstance(metadata, dict):
        raise ValidationError({"metadata": "Metadata is a JSON object."})
    try:
        json_rules.check(metadata, "metadata")
    except json_rules.HostileValue as exc:
        raise ValidationError({"metadata": [str(exc)]}) from None
    if json_rules.byte_size(metadata) > METADATA_MAX_BYTES:
        raise ValidationError(
            {"metadata": f"Metadata is limited to {METADATA_MAX_BYTES} bytes of JSON."}
        )
    return metadata


def validate_agent_metadata(metadata: dict) -> dict:
    """The agent options a session's metadata may carry, checked before anything runs."""
    validate_metadata_shape(metadata)
    errors = []
    mode = metadata.get("permissionMode")
    if mode is not None and mode not in PERMISSION_MODES:
        errors.append(f"permissionMode must be one of {', '.join(PERMISSION_MODES)}.")
    tools = metadata.get("allowedTools")
    if tools is not None and not (
        isinstance(tools, list) and all(isinstance(t, str) and t for t in tools)
    ):
        errors.append("allowedTools must be a list of tool names.")
    model = metadata.get("model")
    if model is not None and not (isinstance(model, str) and 0 < len(model) <= 100):
        errors.append("model must be a model name.")
    for key, upper in (("maxTurns", 1000), ("maxDuration", 86400)):
        value = metadata.get(key)
        if value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= upper
        ):
            errors.append(f"{key} must be a whole number from 1 to {upper}.")
    if errors:
        raise ValidationError({"metadata": errors})
    return metadata
