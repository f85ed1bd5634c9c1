"""The operations console's billing: rates and prices with their history (a change is a new
row, in force from its time: rows are added, never edited or deleted), budgets, and spending
per organization and month. Saves go through billing.services (the same checks and audit
events as the API)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from . import services
from .models import Budget, CostDrift, ModelPrice, Spend, TokenCharge, ToolRate


class EffectiveFromForm(forms.ModelForm):
    """The service's rule, checked in the form so a past time is a form error."""

    def clean_effective_from(self):
        return services.effective_time(self.cleaned_data.get("effective_from"))


class AppendOnlyAdmin(admin.ModelAdmin):
    """History stays history: a row is added (through the service), never changed."""

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _saved(self, obj, make) -> None:
        obj.pk = make().pk


@admin.register(ToolRate)
class ToolRateAdmin(AppendOnlyAdmin):
    form = EffectiveFromForm
    list_display = [
        "tool",
        "organization",
        "per_execution_usd",
        "per_kb_output_usd",
        "effective_from",
    ]
    list_filter = ["organization", "tool"]
    search_fields = ["tool"]
    fields = ["organization", "tool", "per_execution_usd", "per_kb_output_usd", "effective_from"]

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        self._saved(
            obj,
            lambda: services.add_tool_rate(
                actor=request.user,
                organization=data.get("organization"),
                tool=data["tool"],
                per_execution_usd=data["per_execution_usd"],
                per_kb_output_usd=data["per_kb_output_usd"],
                effective_from=data.get("effective_from"),
            ),
        )


@admin.register(ModelPrice)
class ModelPriceAdmin(AppendOnlyAdmin):
    form = EffectiveFromForm
    list_display = [
        "model",
        "input_per_mtok",
        "output_per_mtok",
        "cache_write_per_mtok",
        "cache_read_per_mtok",
        "effective_from",
    ]
    search_fields = ["model"]
    fields = [
        "model",
        "aliases",
        *services.PRICE_FIELDS,
        "effective_from",
    ]

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        self._saved(
            obj,
            lambda: services.add_model_price(
                actor=request.user,
                model=data["model"],
                aliases=data.get("aliases") or [],
                effective_from=data.get("effective_from"),
                **{name: data[name] for name in services.PRICE_FIELDS},
            ),
        )


class BudgetForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        user, organization = data.get("user"), data.get("organization")
        if (
            user is not None
            and organization is not None
            and user.organization_id != organization.pk
        ):
            self.add_error("user", "Not a member of this organization.")
        return data


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    form = BudgetForm
    list_display = ["organization", "user", "monthly_limit_usd", "updated_at"]
    list_filter = ["organization"]
    fields = ["organization", "user", "monthly_limit_usd"]

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        budget = services.set_budget(
            actor=request.user,
            organization=data["organization"],
            user=data.get("user"),
            monthly_limit_usd=data["monthly_limit_usd"],
        )
        obj.pk = budget.pk

    def delete_model(self, request, obj) -> None:
        services.set_budget(
            actor=request.user, organization=obj.organization, user=obj.user, monthly_limit_usd=None
        )

    def delete_queryset(self, request, queryset) -> None:
        for budget in queryset:
            self.delete_model(request, budget)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Spend)
class SpendAdmin(ReadOnlyAdmin):
    list_display = [
        "organization",
        "period",
        "subject",
        "cost_usd",
        "tool_cost_usd",
        "token_cost_usd",
    ]
    list_filter = ["organization", "period"]
    search_fields = ["subject"]


@admin.register(TokenCharge)
class TokenChargeAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organization",
        "session",
        "model",
        "input_tokens",
        "output_tokens",
        "cost_usd",
    ]
    list_filter = ["organization", "model", "priced"]
    raw_id_fields = ["session"]


@admin.register(CostDrift)
class CostDriftAdmin(ReadOnlyAdmin):
    list_display = [
        "found_at",
        "organization",
        "session",
        "recorded_usd",
        "recomputed_usd",
        "claude_usd",
    ]
    list_filter = ["organization"]
    raw_id_fields = ["session"]
