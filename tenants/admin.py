from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import IdempotencyKey, Organization, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "created_at"
    readonly_fields = ["id", "created_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "organization", "role", "is_staff", "is_superuser"]
    list_filter = ["role", "organization", "is_staff", "is_superuser", "is_active"]
    search_fields = ["username", "email", "organization__name"]
    list_select_related = ["organization"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Organization", {"fields": ["organization", "role"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        ("Organization", {"fields": ["organization", "role"]}),
    ]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "endpoint", "user", "response_status", "created_at", "expires_at"]
    list_filter = ["response_status"]
    search_fields = ["key", "endpoint", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
