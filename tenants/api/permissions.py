from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsSuperuser(BasePermission):
    message = "Only platform superusers may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_superuser)


class CanControlOrReadOnly(BasePermission):
    """Viewers read; admins and users (and superusers) also change things."""

    message = "Viewers have read-only access."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or request.user.can_control_sessions


class CanControlSessions(BasePermission):
    """Admins and users (and superusers); not viewers."""

    message = "Viewers have read-only access."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.can_control_sessions)


class IsOrganizationAdmin(BasePermission):
    """An organization's admins (for their own organization: the view scopes the object)
    and platform superusers."""

    message = "Only this organization's admins may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_superuser or user.is_org_admin))
