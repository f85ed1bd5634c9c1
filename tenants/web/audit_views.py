"""The audit trail page for an organization's admins (operators read it in the console)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import selectors
from .manage_access import dashboard_login_required, no_organization, require_org_admin
from .manage_forms import AuditFilterForm

EVENTS_PER_PAGE = 50


@require_GET
@dashboard_login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    answer = no_organization(request, "Audit trail")
    if answer is not None:
        return answer
    require_org_admin(request)
    filters = AuditFilterForm(request.GET)
    filters.is_valid()  # a value that is not a choice is left out of cleaned_data: ignored
    chosen = {key: value for key, value in filters.cleaned_data.items() if value}
    events = selectors.audit_events_visible_to(request.user)
    if "action" in chosen:
        events = events.filter(action=chosen["action"])
    if "actor" in chosen:
        events = events.filter(actor_name=chosen["actor"])
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.details_json = json.dumps(event.details, sort_keys=True) if event.details else ""
    context = {"page": page, "filters": filters, "filter_query": urlencode(chosen)}
    return render(request, "tenants/audit.html", context)
