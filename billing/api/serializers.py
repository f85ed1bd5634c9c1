from __future__ import annotations

from rest_framework import serializers

from tenants.api.serializers import StrictSerializer

from ..choices import ReportGroup
from ..models import ModelPrice, ToolRate

MONEY = {"max_digits": 14, "decimal_places": 6, "min_value": 0, "max_value": 1_000_000}


class ToolRateSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ToolRate
        fields = [
            "id",
            "organization",
            "tool",
            "per_execution_usd",
            "per_kb_output_usd",
            "effective_from",
            "created_at",
        ]


class ToolRateCreateSerializer(StrictSerializer):
    organization = serializers.SlugField(
        required=False,
        allow_null=True,
        help_text="Superusers: the organization whose override this is (null: the platform's "
        "rate). Organization admins always set their own organization's.",
    )
    tool = serializers.CharField(max_length=200)
    per_execution_usd = serializers.DecimalField(**MONEY)
    per_kb_output_usd = serializers.DecimalField(**MONEY, required=False, default=0)
    effective_from = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ModelPriceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelPrice
        fields = [
            "id",
            "model",
            "aliases",
            "input_per_mtok",
            "output_per_mtok",
            "cache_write_per_mtok",
            "cache_read_per_mtok",
            "effective_from",
            "created_at",
        ]


class ModelPriceCreateSerializer(StrictSerializer):
    model = serializers.CharField(max_length=200)
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=20, required=False, default=list
    )
    input_per_mtok = serializers.DecimalField(**MONEY)
    output_per_mtok = serializers.DecimalField(**MONEY)
    cache_write_per_mtok = serializers.DecimalField(**MONEY)
    cache_read_per_mtok = serializers.DecimalField(**MONEY)
    effective_from = serializers.DateTimeField(required=False, allow_null=True, default=None)


class UserBudgetSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    monthly_limit_usd = serializers.DecimalField(**MONEY, allow_null=True)
    spent_usd = serializers.DecimalField(max_digits=14, decimal_places=6, read_only=True)


class BudgetsSerializer(StrictSerializer):
    period = serializers.DateField(read_only=True, help_text="The month (its first day).")
    monthly_limit_usd = serializers.DecimalField(
        **MONEY, allow_null=True, required=False, help_text="The organization's; null: none."
    )
    spent_usd = serializers.DecimalField(max_digits=14, decimal_places=6, read_only=True)
    users = UserBudgetSerializer(
        many=True,
        required=False,
        help_text="Members' monthly budgets to set (null removes one); members not listed keep "
        "theirs.",
    )


class ReportQuerySerializer(StrictSerializer):
    group_by = serializers.ChoiceField(choices=ReportGroup.choices, default=ReportGroup.DAY)
    start = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="`from` in the query."
    )
    to = serializers.DateField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if attrs["start"] and attrs["to"] and attrs["start"] > attrs["to"]:
            raise serializers.ValidationError({"from": "from is after to."})
        return attrs


class ReportRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    cost_usd = serializers.DecimalField(max_digits=16, decimal_places=6)
    tool_cost_usd = serializers.DecimalField(max_digits=16, decimal_places=6)
    token_cost_usd = serializers.DecimalField(max_digits=16, decimal_places=6)
    tool_calls = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
