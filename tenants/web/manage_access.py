"""Who may open the organization management pages: shared by members, settings and audit."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

dashboard_login_required = login_required(login_url=reverse_lazy("login"))


def require_org_admin(request: HttpRequest) -> None:
    if not request.user.is_org_admin:
        raise PermissionDenied("Only your organization's admins may open this page.")


def no_organization(request: HttpRequest, page: str) -> HttpResponse | None:
    """Platform superusers belong to no organization: a page that says where they manage
    organizations instead (the console), rather than an error."""
    if request.user.organization_id is not None:
        return None
    return render(request, "tenants/no_organization.html", {"page": page}, status=200)


def org_admin_page(page: str) -> Callable:
    """A dashboard page for an organization's admins (alerting, integrations): logged in, in
    an organization (platform superusers are sent to the console), admin."""

    def decorate(view):
        @dashboard_login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            answer = no_organization(request, page)
            if answer is not None:
                return answer
            require_org_admin(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
