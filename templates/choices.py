from __future__ import annotations

from django.db import models


class TemplateScope(models.TextChoices):
    """Who sees a template and who edits it (templates/permissions.py has the rule)."""

    PLATFORM = "platform", "Platform (every organization)"
    ORGANIZATION = "organization", "Organization"
    PERSONAL = "personal", "Personal"


# How a slug is looked up when several visible templates share it: the nearest one wins.
SCOPE_PRECEDENCE = (TemplateScope.PERSONAL, TemplateScope.ORGANIZATION, TemplateScope.PLATFORM)
