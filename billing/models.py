"""Rates, prices, budgets and what was spent.

Rates and prices are never edited in place: a change is a new row with the time it applies
from (`effective_from`), so a cost computed yesterday stays what it was, and the history is
the table itself. Spending is kept where it is counted: a session's total on the session
(sessions.Session.cost_usd), a tool call's on its CommandLog (cost_usd), a model response's in
a TokenCharge, and each organization's and user's month in a Spend row, all written in the
ingestion transaction that recorded the event (billing.meter).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from sessions.models import Session
from tenants.models import Organization, TenantQuerySet

from .choices import DEFAULT_TOOL

MONEY = {"max_digits": 14, "decimal_places": 6}


class ToolRate(models.Model):
    """What one tool call costs: per execution, plus per KB (1024 bytes) of its output. A
    platform rate has no organization (every organization reads it); an organization's own
    rate overrides the platform's for the same tool."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    tool = models.CharField(
        max_length=200,
        help_text=f"Claude Code's tool name (Bash, Edit, ...); {DEFAULT_TOOL!r}: "
        "every tool without a rate of its own.",
    )
    per_execution_usd = models.DecimalField(**MONEY)
    per_kb_output_usd = models.DecimalField(**MONEY, default=0)
    effective_from = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["tool", "-effective_from"]
        indexes = [models.Index(fields=["organization", "tool", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.tool} from {self.effective_from:%Y-%m-%d %H:%M}"


class ModelPrice(models.Model):
    """A model's prices in USD per million tokens (platform-wide)."""

    model = models.CharField(
        max_length=200,
        help_text="The model id, or its prefix (claude-sonnet-4-5 prices "
        "claude-sonnet-4-5-20250929).",
    )
    aliases = models.JSONField(default=list, blank=True, help_text="Other names (sonnet, ...).")
    input_per_mtok = models.DecimalField(**MONEY)
    output_per_mtok = models.DecimalField(**MONEY)
    cache_write_per_mtok = models.DecimalField(**MONEY)
    cache_read_per_mtok = models.DecimalField(**MONEY)
    effective_from = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "-effective_from"]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from:%Y-%m-%d %H:%M}"


class Budget(models.Model):
    """A monthly budget: the organization's (no user) or one user's in it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # "" for the organization's budget, else the user's id: the key its Spend rows share.
    subject = models.CharField(max_length=40, editable=False)
    monthly_limit_usd = models.DecimalField(**MONEY)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["subject"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "subject"], name="budget_once")
        ]

    def __str__(self) -> str:
        return f"{self.user or 'organization'}: {self.monthly_limit_usd} USD a month"


class Spend(models.Model):
    """An organization's (subject "") or one of its users' (subject: the user id) spending in
    one month (`period`: its first day), updated in the ingestion transaction."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=40)
    period = models.DateField()
    cost_usd = models.DecimalField(**MONEY, default=0)
    tool_cost_usd = models.DecimalField(**MONEY, default=0)
    token_cost_usd = models.DecimalField(**MONEY, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-period", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "subject", "period"], name="spend_once")
        ]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} {self.subject or 'organization'}: {self.cost_usd}"


class TokenCharge(models.Model):
    """One model response's usage and what it cost (each message id once per session)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )
    message_id = models.CharField(max_length=200)
    model = models.CharField(max_length=200, blank=True)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    # False when no price matched the model: the tokens are kept, their cost is 0.
    priced = models.BooleanField(default=True)
    cost_usd = models.DecimalField(**MONEY, default=0)
    created_at = models.DateTimeField(db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "message_id"], name="token_charge_once")
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.message_id}: {self.cost_usd}"


class RecomputeWatermark(models.Model):
    """Where the periodic recompute stopped (one row, platform-wide)."""

    recomputed_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"recomputed until {self.recomputed_until:%Y-%m-%d %H:%M:%S}"


class CostDrift(models.Model):
    """A session whose recorded cost differs from its cost recomputed from the rates and
    prices in force when each event happened (a rate another process had not seen yet, a
    reserved call that never reported back), with Claude Code's own figure beside: recorded,
    never silently corrected."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )
    recorded_usd = models.DecimalField(**MONEY)
    recomputed_usd = models.DecimalField(**MONEY)
    claude_usd = models.DecimalField(**MONEY)
    found_at = models.DateTimeField(db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-found_at"]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.recorded_usd} recorded, {self.recomputed_usd} recomputed"

    @property
    def drift_usd(self):
        return self.recorded_usd - self.recomputed_usd
