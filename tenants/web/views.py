"""The organization dashboard: its usage against each quota, active sessions, members and
recent activity. Server-rendered like the sessions dashboard; sessions are listed through
tenants.activity, since tenants never imports sessions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from .. import activity, quotas, selectors

LISTED = 10
# The pages organization admins manage it with (tenants/web/manage_urls.py): literal paths,
# so this page links to them whether or not they are mounted yet.
MANAGE_LINKS = (
    ("Members", "/org/members/"),
    ("Settings", "/org/settings/"),
    ("Audit trail", "/org/audit/"),
)


@require_GET
@login_required(login_url=reverse_lazy("login"))
def org_dashboard(request: HttpRequest) -> HttpResponse:
    organization = request.user.organization
    if organization is None:
        # A platform superuser has no organization of their own: say where to look instead.
        return render(request, "tenants/org_none.html")
    is_admin = request.user.is_org_admin
    sessions = activity.sessions()
    usage = quotas.usage_of(organization)
    context = {
        "organization": organization,
        "quota_lines": quotas.lines_of(quotas.limits_of(organization), usage),
        "usage": usage,
        "active_sessions": sessions.active_sessions(organization.pk, LISTED),
        "recent_sessions": sessions.recent_sessions(organization.pk, LISTED),
        "members": selectors.active_members_of(organization),
        "is_admin": is_admin,
        "manage_links": MANAGE_LINKS if is_admin else (),
        "audit_events": selectors.recent_audit_events_of(organization, LISTED) if is_admin else (),
    }
    return render(request, "tenants/org_dashboard.html", context)
