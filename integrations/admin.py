"""The operations console's integrations: operators see every organization's integrations
with their delivery logs, and enable, disable or redeliver through integrations.services (the
same checks and audit events as the API). Secrets are never shown; organizations' admins
create integrations (a session an integration starts is its creator's)."""

from __future__ import annotations

from django.contrib import admin, messages

from . import services
from .models import Delivery, Integration, PullRequestThread


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["repository", "provider", "organization", "enabled", "last_delivery_at"]
    list_filter = ["provider", "enabled", "organization"]
    search_fields = ["repository"]
    fields = [
        "organization",
        "provider",
        "repository",
        "api_url",
        "clone_url",
        "pull_request_template",
        "ci_failure_template",
        "mention_handle",
        "enabled",
        "created_by",
        "last_delivery_at",
        "created_at",
    ]
    readonly_fields = fields
    actions = ["enable", "disable"]

    def has_add_permission(self, request) -> bool:
        return False

    def _set_enabled(self, request, queryset, enabled: bool) -> None:
        for integration in queryset:
            services.update_integration(
                integration=integration, actor=request.user, enabled=enabled
            )
        messages.success(
            request, f"{queryset.count()} integration(s) {'enabled' if enabled else 'disabled'}."
        )

    @admin.action(description="Enable the selected integrations")
    def enable(self, request, queryset) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable the selected integrations")
    def disable(self, request, queryset) -> None:
        self._set_enabled(request, queryset, False)

    def delete_model(self, request, obj) -> None:
        services.delete_integration(integration=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for integration in queryset:
            services.delete_integration(integration=integration, actor=request.user)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "integration",
        "event",
        "action",
        "signature_ok",
        "outcome",
        "session",
    ]
    list_filter = ["outcome", "signature_ok", "event"]
    search_fields = ["delivery_key"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request, queryset) -> None:
        count = 0
        for delivery in queryset.exclude(trigger={}):
            services.redeliver(delivery=delivery, actor=request.user)
            count += 1
        messages.success(request, f"{count} deliveries queued again.")


@admin.register(PullRequestThread)
class PullRequestThreadAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "integration", "session", "comment_id", "updated_at"]
    readonly_fields = [f.name for f in PullRequestThread._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
