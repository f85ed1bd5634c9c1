from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import Organization, User


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
