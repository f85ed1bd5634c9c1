"""The alerting pages of the dashboard (mounted at /org/alerts/)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.alerts_page, name="page"),
    path("rules/", views.rule_create, name="rule-create"),
    path("rules/<uuid:rule_id>/toggle/", views.rule_toggle, name="rule-toggle"),
    path("channels/", views.channel_create, name="channel-create"),
    path("channels/<uuid:channel_id>/test/", views.channel_test, name="channel-test"),
    path("silences/", views.silence_create, name="silence-create"),
    path("silences/<uuid:silence_id>/expire/", views.silence_expire, name="silence-expire"),
]
