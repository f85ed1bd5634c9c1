"""/org/alerts/: an organization's alert history, rules, channels and silences, for its
admins (operators use the console). Every change is a service call."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tenants.web.manage_access import org_admin_page

from .. import engine, selectors, services
from .forms import AlertFilterForm, ChannelForm, RuleForm, SilenceForm

ALERTS_PER_PAGE = 50
PAGE = "Alerts"
_admin_page = org_admin_page(PAGE)


@require_GET
@_admin_page
def alerts_page(request: HttpRequest) -> HttpResponse:
    return _render(request)


def _render(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    user = request.user
    rules = list(selectors.rules_visible_to(user))
    channels = list(selectors.channels_visible_to(user))
    filters = AlertFilterForm(request.GET, rules=rules)
    filters.is_valid()  # a value that is not a choice is left out: ignored
    chosen = {key: value for key, value in filters.cleaned_data.items() if value}
    alerts = selectors.filter_alerts(selectors.alerts_visible_to(user), **chosen)
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    names = selectors.channel_names(user)
    for alert in page.object_list:
        alert.delivery_rows = [
            (d, names.get(d.channel_id, "platform fallback"))
            for n in alert.notifications.all()
            for d in n.deliveries.all()
        ]
    context = {
        "page": page,
        "filters": filters,
        "filter_query": urlencode(chosen),
        "rules": rules,
        "channels": channels,
        "silences": list(selectors.silences_visible_to(user)[:100]),
        "now": timezone.now(),
        "rule_form": forms.get("rule_form") or RuleForm(channels=channels),
        "channel_form": forms.get("channel_form") or ChannelForm(),
        "silence_form": forms.get("silence_form") or SilenceForm(rules=rules),
    }
    return render(request, "alerts/alerts.html", context, status=status)


def _attach(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _submitted(request: HttpRequest, form, save, done: str) -> HttpResponse:
    """`save(cleaned_data)` for a valid form, then back to the page; else the page again with
    the form and the service's reasons on it (400)."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, done)
            return redirect("alerts:page")
    return _render(request, status=400, **{form.form_key: form})


@require_POST
@_admin_page
def rule_create(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST, channels=selectors.channels_visible_to(request.user))

    def save(data: dict) -> None:
        services.create_rule(
            actor=request.user,
            organization=request.user.organization,
            **{**data, "params": data["params"] or {}},
        )

    return _submitted(request, form, save, "Rule created.")


@require_POST
@_admin_page
def rule_toggle(request: HttpRequest, rule_id) -> HttpResponse:
    rule = selectors.get_rule_for(request.user, rule_id)
    services.update_rule(rule=rule, actor=request.user, enabled=not rule.enabled)
    messages.success(request, f"Rule {'disabled' if rule.enabled else 'enabled'}.")
    return redirect("alerts:page")


@require_POST
@_admin_page
def channel_create(request: HttpRequest) -> HttpResponse:
    def save(data: dict) -> None:
        services.create_channel(actor=request.user, organization=request.user.organization, **data)

    return _submitted(request, ChannelForm(request.POST), save, "Channel created.")


@require_POST
@_admin_page
def channel_test(request: HttpRequest, channel_id) -> HttpResponse:
    channel = selectors.get_channel_for(request.user, channel_id)
    delivery = services.queue_test(channel=channel, actor=request.user)
    if engine.send(delivery.pk):
        messages.success(request, f"Test sent to {channel.name}.")
    else:
        delivery.refresh_from_db()
        messages.error(request, f"Test to {channel.name} failed: {delivery.last_error}")
    return redirect("alerts:page")


@require_POST
@_admin_page
def silence_create(request: HttpRequest) -> HttpResponse:
    rules = selectors.rules_visible_to(request.user)

    def save(data: dict) -> None:
        services.create_silence(
            actor=request.user,
            organization=request.user.organization,
            rule=rules.filter(pk=data["rule"]).first() if data["rule"] else None,
            subject=data["subject"],
            ends_at=timezone.now() + timedelta(hours=data["hours"]),
            reason=data["reason"],
        )

    return _submitted(request, SilenceForm(request.POST, rules=rules), save, "Silence created.")


@require_POST
@_admin_page
def silence_expire(request: HttpRequest, silence_id) -> HttpResponse:
    silence = selectors.get_silence_for(request.user, silence_id)
    services.expire_silence(silence=silence, actor=request.user)
    messages.success(request, "Silence expired.")
    return redirect("alerts:page")
