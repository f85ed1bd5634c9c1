from __future__ import annotations

from django.apps import AppConfig


class AgentSessionsConfig(AppConfig):
    name = "sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "agent_sessions"
    verbose_name = "Agent sessions"

    def ready(self) -> None:
        # The core plugs into what sits above or below it here, so no import circle forms:
        # the agent fills in the turn dispatcher (the core never imports it); tenants, which
        # cannot import sessions, gets what it counts sessions with and checks defaults by.
        from tenants import activity, org_settings

        from . import turns, usage
        from .agent.dispatch import queue_turn
        from .agent_options import defaults_errors

        turns.install_dispatcher(queue_turn)
        # Quotas and the organization dashboard count and list sessions through this.
        activity.register(usage.SessionActivity())
        # An organization's session defaults are checked by the same rule as a session's
        # metadata.
        org_settings.install_defaults_check(defaults_errors)
