"""Reads of templates: each takes the user it serves, so scoping can't be forgotten."""

from __future__ import annotations

import uuid

from django.db.models import Case, Count, IntegerField, Q, QuerySet, When
from django.http import Http404

from tenants.models import User

from .choices import SCOPE_PRECEDENCE, TemplateScope
from .models import SessionTemplate, TemplateLaunch, TemplateVersion


def templates_visible_to(user: User, *, archived: bool | None = False) -> QuerySet:
    """Platform templates, the user's organization's, and their own personal ones
    (superusers: platform and every organization's; personal ones stay their creator's).
    `archived`: False hides archived ones, True shows only those, None both."""
    if not user.is_authenticated:
        return SessionTemplate.objects.none()
    visible = Q(scope=TemplateScope.PLATFORM)
    if user.is_superuser:
        visible |= Q(scope=TemplateScope.ORGANIZATION)
    elif user.organization_id:
        visible |= Q(scope=TemplateScope.ORGANIZATION, organization_id=user.organization_id)
        visible |= Q(
            scope=TemplateScope.PERSONAL,
            organization_id=user.organization_id,
            creator_id=user.pk,
        )
    templates = SessionTemplate.objects.filter(visible).select_related("organization", "creator")
    if archived is not None:
        templates = templates.filter(archived_at__isnull=not archived)
    return templates


def get_template_for(user: User, reference, *, archived: bool | None = None) -> SessionTemplate:
    """A visible template by id or slug; 404 otherwise (never 403: no existence leak). A slug
    several visible templates share names the nearest: personal, then organization, then
    platform."""
    templates = templates_visible_to(user, archived=archived)
    try:
        found = templates.filter(pk=uuid.UUID(str(reference))).first()
    except ValueError:
        found = _by_slug(templates, str(reference))
    if found is None:
        raise Http404("No such template.")
    return found


def _by_slug(templates: QuerySet, slug: str) -> SessionTemplate | None:
    nearest = Case(
        *[When(scope=scope, then=rank) for rank, scope in enumerate(SCOPE_PRECEDENCE)],
        output_field=IntegerField(),
    )
    return templates.filter(slug=slug).order_by(nearest).first()


def latest_version(template: SessionTemplate) -> TemplateVersion:
    return template.versions.get(number=template.latest_version)


def versions_of(template: SessionTemplate) -> QuerySet:
    """A template's versions, newest first (the caller found the template visible)."""
    return template.versions.select_related("created_by").order_by("-number")


def launches_counted_for(user: User) -> Count:
    """How many of a version's launches the user may count: their organization's (a
    platform template's versions start sessions in every organization)."""
    if user.is_superuser:
        return Count("launches")
    return Count("launches", filter=Q(launches__organization_id=user.organization_id))


def get_version(template: SessionTemplate, number) -> TemplateVersion:
    try:
        return template.versions.get(number=int(number))
    except (TemplateVersion.DoesNotExist, TypeError, ValueError):
        raise Http404("No such version.") from None


def is_in_use(template: SessionTemplate) -> bool:
    """Whether a session refers to one of its versions (then it is archived, not deleted)."""
    return TemplateLaunch.objects.filter(template=template).exists()


def launch_of(session) -> TemplateLaunch | None:
    """Which template version a (visible) session came from, if any."""
    return (
        TemplateLaunch.objects.filter(session=session).select_related("template", "version").first()
    )
