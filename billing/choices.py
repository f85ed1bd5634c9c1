from __future__ import annotations

from django.db import models

# A ToolRate for this tool applies to every tool with no rate of its own.
DEFAULT_TOOL = "*"

# Budgets' warning and exhaustion thresholds, in percent of the limit.
THRESHOLDS = (80, 100)


class BudgetScope(models.TextChoices):
    SESSION = "session", "Session"
    USER = "user", "User, per month"
    ORGANIZATION = "organization", "Organization, per month"


class ReportGroup(models.TextChoices):
    DAY = "day", "Day"
    USER = "user", "User"
    TEMPLATE = "template", "Template"
    TOOL = "tool", "Tool"
    MODEL = "model", "Model"


class BillingAuditAction:
    """Audit actions of billing (tenants.services.record_audit). Kept here rather than in
    tenants.choices.AuditAction so the core needs no migration for a feature (as alerting)."""

    TOOL_RATE_SET = "billing.tool_rate_set"
    MODEL_PRICE_SET = "billing.model_price_set"
    BUDGET_SET = "billing.budget_set"
    SESSION_BUDGET_SET = "billing.session_budget_set"
