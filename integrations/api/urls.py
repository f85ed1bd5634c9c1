"""The integrations API and webhooks under /api/integrations/ (mounted before the project's
router)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from ..webhooks import github_webhook, gitlab_webhook
from .views import IntegrationViewSet

router = SimpleRouter()
router.include_format_suffixes = False
router.register("integrations", IntegrationViewSet, basename="integration")

urlpatterns = [
    path(
        "integrations/github/<uuid:integration_id>/webhook",
        github_webhook,
        name="integration-github-webhook",
    ),
    path(
        "integrations/gitlab/<uuid:integration_id>/webhook",
        gitlab_webhook,
        name="integration-gitlab-webhook",
    ),
    *router.urls,
]
