from __future__ import annotations

from django.apps import AppConfig


class SessionTemplatesConfig(AppConfig):
    name = "templates"
    # A bare "templates" label would read as Django's template machinery everywhere it shows
    # (tables, permissions, the console); like sessions' "agent_sessions", it gets its own.
    label = "session_templates"
    verbose_name = "Session templates"

    def ready(self) -> None:
        # Sessions never imports this app: the dashboard's pages offer slots, filled here.
        from sessions.web import extensions

        from .web import fragments

        extensions.register("session_new", fragments.template_selector)
        extensions.register("session_detail", fragments.session_template_links)
