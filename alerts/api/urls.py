"""The alerting API under /api/alerts/ (mounted before the project's router)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from .views import AlertViewSet, ChannelViewSet, RuleViewSet, SilenceViewSet

router = SimpleRouter()
router.include_format_suffixes = False
router.register("alerts/channels", ChannelViewSet, basename="alert-channel")
router.register("alerts/rules", RuleViewSet, basename="alert-rule")
router.register("alerts/silences", SilenceViewSet, basename="alert-silence")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = router.urls
