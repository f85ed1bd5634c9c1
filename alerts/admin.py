"""The operations console's alerting: operators manage every organization's and the
platform's rules, channels and silences, and read the history. Saves go through
alerts.services (the same checks and audit events as the API); the forms run the same
validators first, so a bad value is a form error, not a crash."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from tenants.json_rules import CheckedJSONFormField

from . import engine, services
from .conditions import KIND_CHOICES, validate_params
from .models import Alert, Channel, Delivery, Notification, Rule, Silence
from .validators import FIELDS, split_config


class ChannelAdminForm(forms.ModelForm):
    config = CheckedJSONFormField(required=False, help_text="Everything but the secret.")
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Slack token, PagerDuty routing key or webhook secret: stored encrypted, "
        "never shown. Leave empty to keep the one set.",
    )

    class Meta:
        model = Channel
        fields = ["organization", "kind", "name", "config", "secret", "is_fallback", "enabled"]

    def full_config(self) -> dict:
        data = self.cleaned_data
        config = dict(data.get("config") or {})
        secret_field = FIELDS.get(data.get("kind"), ((), None))[1]
        if secret_field and data.get("secret"):
            config[secret_field] = data["secret"]
        return config

    def clean(self) -> dict:
        data = super().clean()
        if "kind" in data:
            try:
                split_config(data["kind"], self.full_config(), has_secret=self.instance.has_secret)
            except ValidationError as exc:
                self.add_error(None, exc.messages)
        return data


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelAdminForm
    list_display = ["name", "kind", "organization", "is_fallback", "enabled", "last_notified_at"]
    list_filter = ["kind", "enabled", "is_fallback", "organization"]
    search_fields = ["name"]
    readonly_fields = ["disabled_reason", "last_notified_at", "last_error"]
    actions = ["send_test"]

    def get_readonly_fields(self, request, obj=None):
        # A channel stays in its organization and keeps its kind (its secret means that kind).
        extra = ["organization", "kind"] if obj is not None else []
        return [*extra, *self.readonly_fields]

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            saved = services.update_channel(
                channel=obj,
                actor=request.user,
                name=data["name"],
                config=form.full_config(),
                enabled=data["enabled"],
                is_fallback=data["is_fallback"],
            )
        else:
            saved = services.create_channel(
                actor=request.user,
                organization=data.get("organization"),
                kind=data["kind"],
                name=data["name"],
                config=form.full_config(),
                is_fallback=data["is_fallback"],
                enabled=data["enabled"],
            )
        obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        services.delete_channel(channel=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for channel in queryset:
            services.delete_channel(channel=channel, actor=request.user)

    @admin.action(description="Send a test notification")
    def send_test(self, request, queryset) -> None:
        for channel in queryset:
            delivery = services.queue_test(channel=channel, actor=request.user)
            if engine.send(delivery.pk):
                self.message_user(request, f"Test sent to {channel.name}.")
            else:
                delivery.refresh_from_db()
                self.message_user(
                    request, f"Test to {channel.name} failed: {delivery.last_error}", messages.ERROR
                )


class RuleAdminForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    params = CheckedJSONFormField(required=False)

    class Meta:
        model = Rule
        fields = [
            "organization",
            "name",
            "kind",
            "params",
            "severity",
            "throttle_minutes",
            "channels",
            "enabled",
        ]

    def clean(self) -> dict:
        data = super().clean()
        organization = data.get("organization", self.instance.organization)
        if "kind" in data:
            try:
                data["params"] = validate_params(
                    data["kind"], data.get("params") or {}, platform=organization is None
                )
            except ValidationError as exc:
                self.add_error(None, exc.messages)
        for channel in data.get("channels") or []:
            if channel.organization_id != (organization.pk if organization else None):
                self.add_error("channels", f"{channel} belongs to another organization.")
        return data


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleAdminForm
    list_display = ["name", "kind", "organization", "severity", "throttle_minutes", "enabled"]
    list_filter = ["kind", "severity", "enabled", "organization"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        data = dict(form.cleaned_data)
        organization = data.pop("organization", obj.organization)
        data["channels"] = [str(c.pk) for c in data.get("channels") or []]
        if change:
            saved = services.update_rule(rule=obj, actor=request.user, **data)
        else:
            saved = services.create_rule(actor=request.user, organization=organization, **data)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change) -> None:
        pass  # the service set the channels

    def delete_model(self, request, obj) -> None:
        services.delete_rule(rule=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for rule in queryset:
            services.delete_rule(rule=rule, actor=request.user)


class SilenceAdminForm(forms.ModelForm):
    class Meta:
        model = Silence
        fields = ["organization", "rule", "subject", "reason", "ends_at"]

    def clean(self) -> dict:
        data = super().clean()
        ends_at, rule = data.get("ends_at"), data.get("rule")
        if ends_at is not None and ends_at <= timezone.now():
            self.add_error("ends_at", "A silence ends in the future.")
        organization = data.get("organization")
        if rule is not None and rule.organization_id != (organization.pk if organization else None):
            self.add_error("rule", "That rule belongs to another organization.")
        return data


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    """Silences are created and expired, never edited: the record says who muted what."""

    form = SilenceAdminForm
    list_display = ["__str__", "organization", "starts_at", "ends_at", "created_by_name"]
    list_filter = ["organization"]
    actions = ["expire"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        saved = services.create_silence(
            actor=request.user,
            organization=data.get("organization"),
            rule=data.get("rule"),
            subject=data.get("subject", ""),
            reason=data["reason"],
            ends_at=data["ends_at"],
        )
        obj.pk = saved.pk

    @admin.action(description="Expire the selected silences now")
    def expire(self, request, queryset) -> None:
        for silence in queryset:
            services.expire_silence(silence=silence, actor=request.user)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["summary", "rule", "organization", "severity", "status", "started_at"]
    list_filter = ["status", "severity", "rule", "organization"]
    search_fields = ["summary", "subject"]
    list_select_related = ["rule", "organization"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["title", "event", "rule", "organization", "created_at"]
    list_filter = ["event", "organization"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["notification", "channel", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "is_fallback", "channel"]
    list_select_related = ["notification", "channel"]
