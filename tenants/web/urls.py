"""The organization's pages in the dashboard (mounted at /org/)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "org"

urlpatterns = [
    path("", views.org_dashboard, name="dashboard"),
]
