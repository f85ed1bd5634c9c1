"""The organization's cost page (mounted at /org/costs/)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [path("", views.costs_page, name="costs")]
