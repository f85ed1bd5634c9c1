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
        from tenants import activity

        from . import turns, usage
        from .agent.dispatch import queue_turn

        turns.install_dispatcher(queue_turn)
        # Quotas and the organization dashboard count and list sessions through this.
        activity.register(usage.SessionActivity())
