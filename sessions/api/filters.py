from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from ..choices import ProjectType, SessionStatus
from ..models import Session

# What a search looks in: what a person remembers a session by.
SEARCHED_FIELDS = ("name", "initial_prompt", "github_repo", "local_path")
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 10


def search_sessions(sessions: QuerySet[Session], text: str) -> QuerySet[Session]:
    """The sessions in which every word of `text` appears (any case) in the name, the prompt,
    the repository or the local folder. The dashboard's list and the API's `?q=` both search
    here, so they agree."""
    for word in text.split()[:MAX_SEARCH_WORDS]:
        anywhere = Q()
        for field in SEARCHED_FIELDS:
            anywhere |= Q(**{f"{field}__icontains": word})
        sessions = sessions.filter(anywhere)
    return sessions


class SessionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        max_length=MAX_SEARCH_CHARS,
        help_text="Words that each appear in the name, the prompt, the repository or the "
        "local folder (any case).",
    )
    status = django_filters.MultipleChoiceFilter(choices=SessionStatus.choices)
    project_type = django_filters.ChoiceFilter(choices=ProjectType.choices)
    created_by = django_filters.CharFilter(
        field_name="created_by__username", help_text="Username of the session's creator."
    )

    class Meta:
        model = Session
        fields = ["q", "status", "project_type", "created_by"]

    def search(self, sessions, name, value):
        return search_sessions(sessions, value)
