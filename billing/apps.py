from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    label = "billing"
    verbose_name = "Billing: costs, rates, prices and budgets"

    def ready(self) -> None:
        # The core's extension point inside the ingestion transaction: costs and budgets are
        # counted with the events that incur them; sessions never imports this app.
        from sessions.ingest import extensions

        from .meter import BillingMeter

        extensions.register_meter("billing", BillingMeter)

        from sessions import selectors as session_selectors

        from .selectors import charged_models

        session_selectors.register_model_source("billing", charged_models)
