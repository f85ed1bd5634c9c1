"""The template selector in a real browser (Debian's chromium, Playwright) against the app
served by daphne, running the real Claude Code CLI on the scripted model: a template is
launched from the dashboard in two clicks, and the selector fills the form and previews the
prompt live as its variables change."""

from __future__ import annotations

import re

import pytest

from sessions.choices import SessionStatus
from sessions.models import Session
from templates.models import TemplateLaunch
from tests.sessions.conftest import wait_for
from tests.sessions.web.test_dashboard_browser import TURN_TIMEOUT_MS, log_in
from tests.templates.conftest import make_template

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PREVIEW = "[data-template-preview]"


@pytest.fixture
def nightly(person, git_repo):
    """A template of the person's organization with its own source: nothing left to type."""
    return make_template(
        person,
        name="Nightly check",
        config={
            "initial_prompt": "Check {repo} on {branch} about {topic}. [scenario:bash_write]",
            "variables": [
                {"name": "repo"},
                {"name": "branch", "default": "main"},
                {"name": "topic", "default": "typos"},
            ],
            "project_type": "github",
            "github_repo": git_repo,
            "metadata": {"autoClose": True, "maxTurns": 10},
        },
    )


def test_a_template_launches_in_two_clicks(page, person, nightly, git_repo):
    log_in(page, person)
    page.goto("/templates/")
    page.click(f"[data-template-slug='{nightly.slug}'] [data-launch]")  # one
    page.wait_for_url(re.compile(r"/sessions/new/\?template="))
    assert page.input_value("#id_name") == "Nightly check"
    assert page.input_value("#id_github_repo") == git_repo
    assert (
        page.text_content(PREVIEW) == f"Check {git_repo} on main about typos. [scenario:bash_write]"
    )
    page.click("button:has-text('Start session')")  # two
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}/$"))
    session_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.wait_for_selector(
        f'[data-status-badge][data-status="{SessionStatus.COMPLETED}"]', timeout=TURN_TIMEOUT_MS
    )
    assert page.text_content("[data-session-template]") == "Nightly check"
    session = Session.objects.get(pk=session_id)
    assert session.initial_prompt == f"Check {git_repo} on main about typos. [scenario:bash_write]"
    assert TemplateLaunch.objects.get(session=session).version.number == 1
    # Auto-close: the follow-up form stays disabled once the one turn is over.
    assert page.is_disabled("[data-follow-up-submit]")


def test_the_selector_fills_the_form_and_previews_the_prompt_live(page, person, builtins, nightly):
    log_in(page, person)
    page.goto("/sessions/new/")
    groups = page.eval_on_selector_all("#id_template optgroup", "g => g.map(x => x.label)")
    assert groups == ["Organization", "Built-in and platform"]
    page.select_option("#id_template", label="Code review")
    assert page.input_value("#id_name") == "Code review"
    assert "{pr_number}" in page.input_value("#id_initial_prompt")
    assert page.is_visible("#id_variable-pr_number")
    assert "{pr_number: missing}" in page.text_content(PREVIEW)
    page.fill("#id_github_repo", "acme/widgets")
    page.fill("#id_variable-pr_number", "42")
    page.fill("#id_variable-pr_title", "Faster builds")
    preview = page.text_content(PREVIEW)
    assert preview.startswith(
        "Review pull request #42 (Faster builds) in acme/widgets, branch the default branch."
    )
    page.fill("#id_git_ref", "dev")
    assert "in acme/widgets, branch dev." in page.text_content(PREVIEW)
    assert page.get_attribute("[data-new-session-form]", "action") == "/templates/launch/"
    assert not page.is_visible('[data-field="mode"]')
    page.select_option("#id_template", value="")
    assert page.get_attribute("[data-new-session-form]", "action") == "/sessions/new/"
    assert not page.is_visible(PREVIEW)
    assert page.is_visible('[data-field="mode"]')


def test_a_refused_launch_names_the_variable_and_keeps_the_choice(page, person, builtins):
    log_in(page, person)
    page.goto("/sessions/new/?template=code-review")
    page.fill("#id_github_repo", "acme/widgets")
    page.click("button:has-text('Start session')")
    page.wait_for_selector(".form-errors")
    assert "pr_number: required by this template" in page.text_content(".form-errors")
    assert page.input_value("#id_template") != ""
    assert page.is_visible("#id_variable-pr_number")
    wait_for(lambda: not Session.objects.exists(), timeout=1)
