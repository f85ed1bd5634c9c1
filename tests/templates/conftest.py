"""Templates' fixtures: the built-ins (a transactional test elsewhere may have flushed the
rows their migration made) and a way to make a template through the service."""

from __future__ import annotations

import pytest

from templates import builtins as builtin_templates
from templates import services
from templates.models import SessionTemplate, TemplateVersion
from tenants.models import User

# The real agent's fixtures: a repository to clone, settings that run turns in this process.
from tests.sessions.conftest import agent_settings, git_repo  # noqa: F401

# The dashboard's browser fixtures: daphne on the test database, a page, a member who logs in.
from tests.sessions.web.test_dashboard_browser import page, person, server  # noqa: F401

PROMPT = "Fix {repo} on {branch}: PR #{pr_number} ({pr_title}). Keep {braces} as they are."
VARIABLES = [
    {"name": "pr_number", "required": True},
    {"name": "pr_title", "default": "untitled"},
    {"name": "branch", "default": "main"},
    {"name": "repo"},
]


@pytest.fixture
def builtins(db) -> dict[str, SessionTemplate]:
    builtin_templates.install(SessionTemplate, TemplateVersion)
    return {t.slug: t for t in SessionTemplate.objects.filter(scope="platform")}


def make_template(user: User, scope: str = "organization", **extra) -> SessionTemplate:
    config = {
        "initial_prompt": PROMPT,
        "variables": VARIABLES,
        "project_type": "github",
        "github_repo": "acme/widgets",
        "metadata": {"maxTurns": 5, "maxDuration": "2 hours", "allowedTools": ["Read", "Bash"]},
    }
    fields = {"name": f"{scope} fixer", "config": config, **extra}
    return services.create_template(actor=user, scope=scope, **fields)
