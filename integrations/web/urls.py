"""The integrations pages of the dashboard (mounted at /org/integrations/)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("", views.integrations_page, name="page"),
    path("new/", views.integration_create, name="create"),
    path("<uuid:integration_id>/toggle/", views.integration_toggle, name="toggle"),
    path("<uuid:integration_id>/test/", views.integration_test, name="test"),
    path("<uuid:integration_id>/delete/", views.integration_delete, name="delete"),
    path(
        "<uuid:integration_id>/deliveries/<uuid:delivery_id>/redeliver/",
        views.delivery_redeliver,
        name="redeliver",
    ),
]
