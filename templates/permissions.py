"""Who may do what with a template: the one rule, asked by services (which refuse) and by
pages and serializers (which only show what can be done).

- platform: everyone sees it; platform superusers (the operators) edit it, and they may
  edit organizations' templates too (the console);
- organization: its members see it; its admins and users edit it, viewers only read;
- personal: only its creator sees and edits it.
Launching a template is starting a session: admins and users of an organization.
"""

from __future__ import annotations

from tenants.models import User

from .choices import TemplateScope
from .models import SessionTemplate


def may_create(user: User, scope: str) -> bool:
    if scope == TemplateScope.PLATFORM:
        return user.is_superuser
    return bool(user.organization_id) and user.can_control_sessions


def may_edit(user: User, template: SessionTemplate) -> bool:
    if template.scope == TemplateScope.PERSONAL:
        return template.creator_id == user.pk
    if user.is_superuser:
        return True  # the operators: platform templates, and any organization's in the console
    if template.scope == TemplateScope.PLATFORM:
        return False
    return template.organization_id == user.organization_id and user.can_control_sessions


def may_launch(user: User) -> bool:
    return bool(user.organization_id) and user.can_control_sessions
