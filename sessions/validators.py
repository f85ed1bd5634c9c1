"""Checks of what a client asks a session to work on; each raises a field-level error."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError

from tenants import json_rules
from tenants.models import Organization, User
from tenants.selectors import local_roots_of

from . import agent_options
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


# Metadata is free-form beyond the agent options; it is bounded all the same.
METADATA_MAX_BYTES = 16 * 1024


def validate_metadata_shape(metadata: object) -> dict:
    """Any session metadata: a JSON object of storable values, at most METADATA_MAX_BYTES."""
    return json_rules.validate_object(metadata, field="metadata", max_bytes=METADATA_MAX_BYTES)


def validate_agent_metadata(
    metadata: dict,
    *,
    actor: User | None = None,
    organization: Organization | None = None,
    current: dict | None = None,
) -> dict:
    """The agent options a session's metadata may carry and whether this actor may set
    them (sessions/agent_options.py), checked before anything is written or runs.
    `actor=None` is the system; `current` is the metadata a PATCH replaces."""
    validate_metadata_shape(metadata)
    errors = agent_options.form_errors(metadata, organization)
    errors += agent_options.auto_close_errors(metadata, current or {})
    if not errors:
        errors = agent_options.role_errors(
            metadata, actor=actor, organization=organization, current=current or {}
        )
    if errors:
        raise ValidationError({"metadata": errors})
    return metadata


def validate_new_session_metadata(
    metadata: dict, *, actor: User | None, organization: Organization | None
) -> dict:
    """A new session's metadata with the organization's defaults filled in where the request
    is silent, then checked whole by the one rule, so a default is validated exactly as a
    value given would be (a privileged default an admin chose may be kept, as on PATCH)."""
    validate_metadata_shape(metadata)
    merged, applied = agent_options.with_defaults(metadata, organization)
    return validate_agent_metadata(merged, actor=actor, organization=organization, current=applied)
