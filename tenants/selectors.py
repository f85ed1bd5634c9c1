"""Reads for organizations: every one takes the user it serves."""

from __future__ import annotations

from django.http import Http404

from .models import Organization, User


def organizations_visible_to(user: User):
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(pk=user.organization_id)


def get_organization_for(user: User, slug: str) -> Organization:
    """404 for an organization the user is not in: no existence leak."""
    try:
        return organizations_visible_to(user).get(slug=slug)
    except Organization.DoesNotExist:
        raise Http404("No such organization.") from None
