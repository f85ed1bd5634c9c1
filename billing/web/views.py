"""/org/costs/: the organization's spending, by day (a chart) and by user, template, tool and
model, with CSV exports (the report API's), for its members."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.web.manage_access import dashboard_login_required, no_organization

from .. import selectors
from ..choices import ReportGroup

CHART_HEIGHT = 120
BAR_STEP = 14  # pixels per day: a 10 px bar and a gap
BREAKDOWNS = (ReportGroup.USER, ReportGroup.TEMPLATE, ReportGroup.TOOL, ReportGroup.MODEL)


class RangeForm(forms.Form):
    start = forms.DateField(required=False, label="From")
    to = forms.DateField(required=False, label="To")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("to") and data["start"] > data["to"]:
            self.add_error("start", "From is after To.")
        return data


@require_GET
@dashboard_login_required
def costs_page(request: HttpRequest) -> HttpResponse:
    answer = no_organization(request, "Costs")
    if answer is not None:
        return answer
    form = RangeForm(request.GET or None)
    start = end = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data.get("start"), form.cleaned_data.get("to")
    organization = request.user.organization
    days = selectors.cost_report(
        organization=organization, group_by=ReportGroup.DAY, start=start, end=end
    )
    context = {
        "form": form,
        "days": chart(days),
        "chart_width": max(len(days), 1) * BAR_STEP,
        "chart_height": CHART_HEIGHT,
        "total": sum((row["cost_usd"] for row in days), Decimal(0)),
        "breakdowns": [
            (
                group.label,
                group.value,
                selectors.cost_report(
                    organization=organization, group_by=group, start=start, end=end
                ),
            )
            for group in BREAKDOWNS
        ],
        "query": _query(start, end),
        "this_month": selectors.spend_this_month(organization),
        "status": 400 if form.is_bound and not form.is_valid() else 200,
    }
    return render(request, "billing/costs.html", context, status=context["status"])


def chart(days: list[dict]) -> list[dict]:
    """Each day's bar height (pixels of CHART_HEIGHT), for a chart drawn without script."""
    top = max((row["cost_usd"] for row in days), default=Decimal(0))
    return [
        {
            **row,
            "height": (height := int(row["cost_usd"] / top * CHART_HEIGHT) if top else 0),
            "y": CHART_HEIGHT - height,
            "x": index * BAR_STEP,
        }
        for index, row in enumerate(days)
    ]


def _query(start: date | None, end: date | None) -> str:
    parts = [f"from={start.isoformat()}" if start else "", f"to={end.isoformat()}" if end else ""]
    return "&".join(p for p in parts if p)
