"""The web dashboard's pages (the API lives under /api/, see orchestrator/urls.py)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "sessions"

urlpatterns = [
    path("", views.session_list, name="list"),
    path("sessions/", views.session_list),
    path("sessions/new/", views.session_new, name="new"),
    path("sessions/statuses/", views.session_statuses, name="statuses"),
    path("sessions/<uuid:session_id>/", views.session_detail, name="detail"),
    path("sessions/<uuid:session_id>/messages/", views.session_follow_up, name="follow-up"),
    path("sessions/<uuid:session_id>/stop/", views.session_stop, name="stop"),
    path("sessions/<uuid:session_id>/hook-config/", views.session_hook_config, name="hook-config"),
]
