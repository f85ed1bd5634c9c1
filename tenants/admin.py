from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from . import quotas, services
from .models import (
    ApiToken,
    AuditEvent,
    IdempotencyKey,
    Organization,
    OrganizationQuota,
    OrganizationUsage,
    User,
)
from .validators import validate_git_credential, validate_local_roots


class OrganizationForm(forms.ModelForm):
    """Local roots and the git credential go through the services' rules, not straight to
    the model: a root outside LOCAL_PROJECT_ROOTS is a form error, a token is never shown."""

    local_roots_text = forms.CharField(
        label="Local roots",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One folder per line, each inside LOCAL_PROJECT_ROOTS; this organization's "
        "local sessions may use only folders under them. Empty: no local sessions.",
    )
    git_token = forms.CharField(
        label="New git token",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="For this organization's private repositories. Stored encrypted and never "
        "shown again; leave empty to keep the current one.",
    )
    git_username = forms.CharField(
        label="Git user name", required=False, initial=services.DEFAULT_GIT_USERNAME
    )
    git_host = forms.CharField(
        label="Git host",
        required=False,
        help_text="One of GIT_ALLOWED_HOSTS; empty: the host of GIT_BASE_URL.",
    )
    clear_git_credential = forms.BooleanField(label="Remove the git credential", required=False)

    class Meta:
        model = Organization
        fields = ["name", "slug", "settings"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["local_roots_text"].initial = "\n".join(self.instance.local_roots)
            self.fields["git_username"].initial = (
                self.instance.git_credential_username or services.DEFAULT_GIT_USERNAME
            )
            self.fields["git_host"].initial = self.instance.git_credential_host

    def clean_local_roots_text(self) -> list[str]:
        lines = self.cleaned_data["local_roots_text"].splitlines()
        roots = [line.strip() for line in lines if line.strip()]
        try:
            return validate_local_roots(roots)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["local_roots"]) from None

    def clean(self) -> dict:
        data = super().clean()
        if data.get("git_token"):
            try:
                validate_git_credential(
                    token=data["git_token"],
                    username=data.get("git_username") or services.DEFAULT_GIT_USERNAME,
                    host=data.get("git_host", ""),
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(f"git_{field}", messages)
        return data


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationForm
    list_display = ["name", "slug", "has_git_credential", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "created_at"
    readonly_fields = ["id", "created_at", "has_git_credential"]
    fieldsets = [
        (None, {"fields": ["id", "name", "slug", "settings", "created_at"]}),
        ("Sources", {"fields": ["local_roots_text"]}),
        (
            "Git credential",
            {
                "fields": [
                    "has_git_credential",
                    "git_token",
                    "git_username",
                    "git_host",
                    "clear_git_credential",
                ]
            },
        ),
    ]

    @admin.display(boolean=True, description="Git credential set")
    def has_git_credential(self, obj: Organization) -> bool:
        return obj.has_git_credential

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        data = form.cleaned_data
        if "local_roots_text" in form.changed_data:
            services.set_local_roots(
                organization=obj, actor=request.user, roots=data["local_roots_text"]
            )
        if data.get("clear_git_credential"):
            services.clear_git_credential(organization=obj, actor=request.user)
        elif data.get("git_token"):
            services.set_git_credential(
                organization=obj,
                actor=request.user,
                token=data["git_token"],
                username=data.get("git_username") or services.DEFAULT_GIT_USERNAME,
                host=data.get("git_host", ""),
            )


@admin.register(OrganizationQuota)
class OrganizationQuotaAdmin(admin.ModelAdmin):
    """Operators set limits here; each save goes through tenants.services.set_quotas (the
    same validation and audit event as the API)."""

    list_display = ["organization", *quotas.QUOTA_FIELDS, "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "organization__slug"]
    readonly_fields = ["usage_now", "updated_at"]
    fields = ["organization", *quotas.QUOTA_FIELDS, "usage_now", "updated_at"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # An organization's quota row stays its own.
        return [*self.readonly_fields, "organization"] if obj else self.readonly_fields

    @admin.display(description="Usage now")
    def usage_now(self, obj: OrganizationQuota) -> str:
        if not obj or not obj.organization_id:
            return "-"
        usage = quotas.usage_of(obj.organization)
        measured = usage.measured_at.strftime("%Y-%m-%d %H:%M") if usage.measured_at else "never"
        return (
            f"{usage.active_sessions} active sessions, {usage.sessions_today} created today, "
            f"{usage.workspaces} workspaces, {filesizeformat(usage.storage_bytes)} "
            f"(disk measured {measured})"
        )

    def save_model(self, request, obj, form, change) -> None:
        changes = {name: form.cleaned_data[name] for name in quotas.QUOTA_FIELDS}
        if change:
            changes = {name: value for name, value in changes.items() if name in form.changed_data}
        saved = services.set_quotas(
            organization=obj.organization, actor=request.user, changes=changes
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at


@admin.register(OrganizationUsage)
class OrganizationUsageAdmin(admin.ModelAdmin):
    """What the measuring job (Periodic tasks: "Measure workspace usage for quotas") found."""

    list_display = ["organization", "workspaces", "storage", "measured_at"]
    list_select_related = ["organization"]

    @admin.display(description="Storage", ordering="storage_bytes")
    def storage(self, obj: OrganizationUsage) -> str:
        return filesizeformat(obj.storage_bytes)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
    actions = ["deactivate", "reactivate"]

    def get_readonly_fields(self, request, obj=None):
        # A member stays in their organization: moving them would skip the last-admin rule
        # and carry their tokens and sessions' authorship into another tenant. Deactivate
        # them and add a new user there instead.
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.organization_id is not None:
            return [*fields, "organization"]
        return fields

    def save_model(self, request, obj, form, change) -> None:
        """A change of role or of `active` goes through the services: audited, and refused
        when it would leave an organization without an active admin."""
        if not change:
            services.save_member_from_console(user=obj, actor=request.user)
            return
        if obj.organization_id is None:
            super().save_model(request, obj, form, change)
            return
        stored = User.objects.get(pk=obj.pk)
        role, is_active = obj.role, obj.is_active
        obj.role, obj.is_active = stored.role, stored.is_active
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            try:
                if role != stored.role:
                    services.change_member_role(member=obj, actor=request.user, role=role)
                if is_active != stored.is_active:
                    toggle = services.reactivate_member if is_active else services.deactivate_member
                    toggle(member=obj, actor=request.user)
            except ValidationError as exc:
                transaction.set_rollback(True)
                self.message_user(request, " ".join(exc.messages), messages.ERROR)

    @admin.action(description="Deactivate the selected users (their API tokens are revoked)")
    def deactivate(self, request, queryset):
        self._each(request, queryset, services.deactivate_member, "Deactivated")

    @admin.action(description="Reactivate the selected users")
    def reactivate(self, request, queryset):
        self._each(request, queryset, services.reactivate_member, "Reactivated")

    def _each(self, request, queryset, change, done: str) -> None:
        count = 0
        for user in queryset.exclude(organization=None):
            try:
                change(member=user, actor=request.user)
                count += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        self.message_user(request, f"{done} {count} user(s).", messages.SUCCESS)


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens: only digests are stored, so there is nothing here to copy; revoke only."""

    list_display = ["prefix", "name", "user", "created_at", "expires_at", "last_used_at"]
    list_display += ["revoked_at"]
    list_filter = ["organization"]
    search_fields = ["prefix", "name", "user__username"]
    list_select_related = ["user"]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # issued by POST /api/auth/token/, shown once there

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            services.revoke_api_token(token=token, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only: events are appended by the services and never changed."""

    list_display = ["created_at", "organization", "actor_name", "action", "target_repr"]
    list_display += ["address"]
    list_filter = ["action", "organization"]
    search_fields = ["actor_name", "target_repr", "target_id"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
