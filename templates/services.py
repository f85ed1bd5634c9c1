"""Writes for templates: the only place that changes a template, makes a version or starts a
session from one. Each checks who acts (templates/permissions.py), writes in one transaction
and records an audit event in it."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from sessions.models import Session
from sessions.services import create_session
from tenants.choices import AuditAction
from tenants.models import User
from tenants.services import record_audit

from . import permissions, selectors
from .choices import TemplateScope
from .config import validate_config
from .launch import deep_merge
from .models import SessionTemplate, TemplateLaunch, TemplateVersion

logger = logging.getLogger(__name__)

NAME_MAX, DESCRIPTION_MAX, SLUG_MAX = 200, 2000, 60


class TemplateStateError(Exception):
    """The template's state does not allow what was asked (archived: answered as 409)."""


def create_template(
    *,
    actor: User,
    scope: str,
    name: str,
    config: dict,
    slug: str = "",
    description: str = "",
) -> SessionTemplate:
    """A new template and its version 1. Platform templates are the operators'; the others
    belong to the actor's organization (personal ones to the actor as well)."""
    if scope not in TemplateScope.values:
        raise ValidationError({"scope": [f"scope is one of {', '.join(TemplateScope.values)}."]})
    if not permissions.may_create(actor, scope):
        raise PermissionDenied(_create_refusal(scope))
    organization = None if scope == TemplateScope.PLATFORM else actor.organization
    name, description = _check_texts(name, description)
    slug = _check_slug(slug or slugify(name))
    config = validate_config(config, organization=organization)
    try:
        with transaction.atomic():
            template = SessionTemplate.objects.create(
                slug=slug,
                name=name,
                description=description,
                scope=scope,
                organization=organization,
                creator=actor,
            )
            _add_version(template, actor=actor, config=config)
            _audit(AuditAction.TEMPLATE_CREATED, actor, template, {"scope": scope, "slug": slug})
    except IntegrityError:
        raise ValidationError(
            {"slug": [f"A {scope} template with the slug {slug!r} exists; choose another."]}
        ) from None
    return template


def _create_refusal(scope: str) -> str:
    if scope == TemplateScope.PLATFORM:
        return "Only platform operators (superusers) make platform templates."
    return "Only an organization's admins and users make templates (viewers read them)."


def _check_texts(name: object, description: object) -> tuple[str, str]:
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise ValidationError({"name": [f"name is 1 to {NAME_MAX} characters."]})
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        raise ValidationError(
            {"description": [f"description is at most {DESCRIPTION_MAX} characters."]}
        )
    return name.strip(), description


def _check_slug(slug: str) -> str:
    if not slug or slug != slugify(slug) or len(slug) > SLUG_MAX:
        raise ValidationError(
            {"slug": [f"slug is 1 to {SLUG_MAX} lowercase letters, digits and dashes."]}
        )
    return slug


def update_template(*, template: SessionTemplate, actor: User, changes: dict) -> SessionTemplate:
    """Edit a template: `name`, `description` and `config` (a JSON merge patch over the
    current config) make a new version when anything changed; `archived` archives or
    restores it."""
    _require_edit(actor, template)
    with transaction.atomic():
        template = SessionTemplate.objects.select_for_update().get(pk=template.pk)
        if "archived" in changes:
            _set_archived(template, actor, bool(changes["archived"]))
        edits = {key: changes[key] for key in ("name", "description", "config") if key in changes}
        if edits:
            _new_version_if_changed(template, actor, edits)
    return template


def _require_edit(actor: User, template: SessionTemplate) -> None:
    if not permissions.may_edit(actor, template):
        raise PermissionDenied(
            "Platform templates are edited by operators, organization templates by its admins "
            "and users, personal templates by their creator."
        )


def _new_version_if_changed(template: SessionTemplate, actor: User, edits: dict) -> None:
    current = selectors.latest_version(template)
    name, description = _check_texts(
        edits.get("name", current.name), edits.get("description", current.description)
    )
    config = current.config
    if "config" in edits:
        if not isinstance(edits["config"], dict):
            raise ValidationError(
                {"config": ["config is a JSON object (merged over the current)."]}
            )
        config = deep_merge(current.config, edits["config"])
    config = validate_config(config, organization=template.organization)
    if (name, description, config) == (current.name, current.description, current.config):
        return  # nothing changed: no empty version
    template.name, template.description = name, description
    version = _add_version(template, actor=actor, config=config)
    _audit(AuditAction.TEMPLATE_CHANGED, actor, template, {"version": version.number})


def _add_version(template: SessionTemplate, *, actor: User | None, config: dict) -> TemplateVersion:
    """The template's next version, with its current name and description (call inside the
    transaction that locked or created the template)."""
    template.latest_version += 1
    template.save(update_fields=["latest_version", "name", "description", "updated_at"])
    return TemplateVersion.objects.create(
        template=template,
        organization_id=template.organization_id,
        number=template.latest_version,
        name=template.name,
        description=template.description,
        config=config,
        created_by=actor,
    )


def _set_archived(template: SessionTemplate, actor: User, archived: bool) -> None:
    if archived == template.is_archived:
        return
    template.archived_at = timezone.now() if archived else None
    template.save(update_fields=["archived_at", "updated_at"])
    action = AuditAction.TEMPLATE_ARCHIVED if archived else AuditAction.TEMPLATE_RESTORED
    _audit(action, actor, template, {})


def delete_template(*, template: SessionTemplate, actor: User) -> bool:
    """Delete a template no session came from; one that sessions refer to is archived
    instead (they keep linking to their version). True if it was deleted."""
    _require_edit(actor, template)
    with transaction.atomic():
        template = SessionTemplate.objects.select_for_update().get(pk=template.pk)
        if selectors.is_in_use(template):
            _set_archived(template, actor, True)
            return False
        _audit(AuditAction.TEMPLATE_DELETED, actor, template, {"slug": template.slug})
        template.delete()
    return True


def launch_session(
    *, version: TemplateVersion, actor: User, fields: dict, variables: dict
) -> Session:
    """Start a session from a template version: `fields` is the session request that
    templates.launch made and the sessions' serializer or form checked; the session and the
    record of its version commit together."""
    template = version.template
    if not permissions.may_launch(actor):
        raise PermissionDenied("Only an organization's admins and users start sessions.")
    if template.is_archived:
        raise TemplateStateError(
            f"The template {template.slug!r} is archived; restore it (or pick another) to launch."
        )
    with transaction.atomic():
        session = create_session(organization=actor.organization, actor=actor, **fields)
        TemplateLaunch.objects.create(
            session=session,
            organization_id=session.organization_id,
            template=template,
            version=version,
            variables=variables,
        )
    logger.info("session %s launched from %s by %s", session.pk, version, actor)
    return session


def _audit(action: str, actor: User, template: SessionTemplate, details: dict) -> None:
    record_audit(
        action=action,
        actor=actor,
        organization=template.organization,
        target=template,
        details=details,
    )
