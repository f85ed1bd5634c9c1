"""Reads of the integrations: each takes the user it serves. An organization's admins see
their organization's integrations and deliveries; anyone else sees none. Another
organization's object is a 404, never a 403."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404

from tenants.models import User

from .models import Delivery, Integration

DELIVERY_LOG_SIZE = 100


def integrations_visible_to(user: User):
    if not user.is_authenticated or not user.is_org_admin:
        return Integration.objects.none()
    return Integration.objects.for_user(user).select_related("organization", "created_by")


def get_integration_for(user: User, pk) -> Integration:
    try:
        return integrations_visible_to(user).get(pk=pk)
    except (Integration.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such integration.") from None


def deliveries_of(integration: Integration):
    """The integration's delivery log, newest first (the caller found it visible)."""
    return Delivery.objects.filter(integration=integration).select_related("session")


def get_delivery_for(user: User, integration_pk, pk) -> Delivery:
    integration = get_integration_for(user, integration_pk)
    try:
        return deliveries_of(integration).get(pk=pk)
    except (Delivery.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such delivery.") from None
