"""Checks of what a client asks a session to work on; each raises a field-level error."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError

from tenants.models import Organization
from tenants.selectors import local_roots_of

from .choices import ProjectType
from .workspaces.paths import PathOutsideRoot, resolve_inside
from .workspaces.sources import (
    SERVER_FOLDERS_RULE,
    SourceRefused,
    check_git_source,
    inside_server_folders,
)


def validate_github_repo(value: str) -> str:
    """owner/name or a URL that passes every source rule (sessions/workspaces/sources.py)."""
    try:
        check_git_source(value, require_resolution=False)
    except SourceRefused as exc:
        raise ValidationError({"github_repo": str(exc)}) from exc
    return value.strip()


def validate_local_path(value: str, *, organization: Organization) -> str:
    """The resolved folder, if it lies inside one of the organization's own local roots."""
    roots = local_roots_of(organization)
    if not roots:
        raise ValidationError(
            {
                "local_path": "Local sessions are disabled for this organization: an "
                "operator has granted it no local roots (local roots rule)."
            }
        )
    try:
        resolved = resolve_inside(value, roots)
    except PathOutsideRoot as exc:
        raise ValidationError(
            {"local_path": f"Local roots rule: {exc} Use a folder under {_listed(roots)}."}
        ) from exc
    if inside_server_folders(resolved):
        raise ValidationError({"local_path": SERVER_FOLDERS_RULE})
    return str(resolved)


def _listed(roots: list[Path]) -> str:
    return ", ".join(str(root) for root in roots)


def validate_project(
    *, organization: Organization, project_type: str, github_repo: str, local_path: str
) -> dict:
    """The cleaned project fields for a session, or a ValidationError naming the field.

    Nothing is written before this passes: a refused source leaves no row and no folder."""
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
        return {
            "github_repo": "",
            "local_path": validate_local_path(local_path, organization=organization),
        }
    raise ValidationError({"project_type": f"Unknown project type {project_type!r}."})


PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions")


def validate_agent_metadata(metadata: dict) -> dict:
    """The agent options a session's metadata may carry, checked before anything runs."""
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
