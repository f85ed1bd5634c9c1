"""Checks of what a client asks a session to work on; each raises a field-level error."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError

from tenants import json_rules
from tenants.models import Organization, User

from . import agent_options
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
    if not errors:
        errors = agent_options.role_errors(
            metadata, actor=actor, organization=organization, current=current or {}
        )
    if errors:
        raise ValidationError({"metadata": errors})
    return metadata
