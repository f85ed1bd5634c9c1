from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    label = "integrations"
    verbose_name = "GitHub and GitLab integrations"

    def ready(self) -> None:
        # The core's extension point: the end of each turn edits the pull request's comment
        # and hands over what waited for it; sessions never imports this app.
        from sessions import signals

        from . import receivers, tasks  # noqa: F401 (tasks: registered with Celery)

        signals.turn_finished.connect(receivers.on_turn_finished, dispatch_uid="integrations.turn")
