from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    label = "alerts"
    verbose_name = "Alerting"

    def ready(self) -> None:
        # The core's extension points: a session failing alerts within seconds, and billing's
        # budget crossings; sessions never imports this app.
        from sessions import signals

        from . import receivers

        signals.session_status_changed.connect(
            receivers.on_session_status_changed, dispatch_uid="alerts.session_status"
        )
        signals.budget_threshold_reached.connect(
            receivers.on_budget_threshold_reached, dispatch_uid="alerts.budget_threshold"
        )
