"""The billing API under /api/billing/ (mounted before the project's router)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import BudgetsView, ModelPriceViewSet, ReportView, ToolRateViewSet

router = SimpleRouter()
router.include_format_suffixes = False
router.register("billing/tool-rates", ToolRateViewSet, basename="billing-tool-rate")
router.register("billing/model-prices", ModelPriceViewSet, basename="billing-model-price")

urlpatterns = [
    path("billing/budgets/", BudgetsView.as_view(), name="billing-budgets"),
    path("billing/report", ReportView.as_view(), name="billing-report"),
    *router.urls,
]
