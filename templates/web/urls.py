"""The templates' dashboard pages, under /templates/."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "templates"

urlpatterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_new, name="new"),
    path("launch/", views.template_launch, name="launch"),
    path("<uuid:template_id>/", views.template_detail, name="detail"),
    path("<uuid:template_id>/diff/", views.template_diff, name="diff"),
    path("<uuid:template_id>/archive/", views.template_archive, name="archive"),
]
