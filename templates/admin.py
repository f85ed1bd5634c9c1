"""The operations console's view of templates: read-only rows with their versions inline
(a version never changes; a template changes through the API or the dashboard, which make a
new version), and archive or restore as actions through the services."""

from __future__ import annotations

from django.contrib import admin, messages

from . import services
from .models import SessionTemplate, TemplateLaunch, TemplateVersion


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    fields = ["number", "name", "config", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SessionTemplate)
class SessionTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "scope", "organization", "latest_version", "archived_at"]
    list_filter = ["scope", "organization", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "slug", "description"]
    readonly_fields = [
        "slug",
        "name",
        "description",
        "scope",
        "organization",
        "creator",
        "latest_version",
        "archived_at",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields
    inlines = [TemplateVersionInline]
    actions = ["archive", "restore"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting goes through the service, which archives a template sessions refer to.
        return False

    @admin.action(description="Archive the selected templates")
    def archive(self, request, queryset) -> None:
        self._set_archived(request, queryset, True)

    @admin.action(description="Restore the selected templates")
    def restore(self, request, queryset) -> None:
        self._set_archived(request, queryset, False)

    def _set_archived(self, request, queryset, archived: bool) -> None:
        for template in queryset:
            services.update_template(
                template=template, actor=request.user, changes={"archived": archived}
            )
        verb = "archived" if archived else "restored"
        self.message_user(request, f"{queryset.count()} template(s) {verb}.", messages.SUCCESS)


@admin.register(TemplateLaunch)
class TemplateLaunchAdmin(admin.ModelAdmin):
    list_display = ["session", "template", "version", "organization", "created_at"]
    list_filter = ["organization"]
    readonly_fields = ["session", "organization", "template", "version", "variables", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
