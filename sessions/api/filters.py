from __future__ import annotations

import django_filters

from ..choices import ProjectType, SessionStatus
from ..models import Session


class SessionFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=SessionStatus.choices)
    project_type = django_filters.ChoiceFilter(choices=ProjectType.choices)
    created_by = django_filters.CharFilter(
        field_name="created_by__username", help_text="Username of the session's creator."
    )

    class Meta:
        model = Session
        fields = ["status", "project_type", "created_by"]
