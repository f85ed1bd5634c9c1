from __future__ import annotations

from django.apps import AppConfig


class AgentSessionsConfig(AppConfig):
    name = "sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "agent_sessions"
    verbose_name = "Agent sessions"

    def ready(self) -> None:
        # The agent sits above the services it calls; it plugs into the core here, so the
        # core never imports it.
        from . import turns
        from .agent.dispatch import queue_turn

        turns.install_dispatcher(queue_turn)
        # An organization's session defaults are checked by the same rule as a session's
        # metadata; tenants cannot import sessions, so the rule is handed to it.
        from tenants import org_settings

        from .agent_options import defaults_errors

        org_settings.install_defaults_check(defaults_errors)
