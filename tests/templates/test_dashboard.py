"""The templates' dashboard pages: the list, create, edit with versions and diffs, archive,
"Save as template" on a session, and launching from the new-session form."""

from __future__ import annotations

import pytest

from sessions.models import Session
from templates.models import SessionTemplate, TemplateLaunch
from tests.conftest import new_session
from tests.templates.conftest import make_template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_turns(monkeypatch):
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)


def test_the_list_groups_what_the_user_sees(web, member, outsider, builtins):
    make_template(member, "personal", name="My own")
    make_template(outsider, "organization", name="Globex only")
    page = web(member).get("/templates/").content.decode()
    assert "My own" in page and "Code review" in page and "Globex only" not in page
    assert page.index("<h2>Personal") < page.index("<h2>Platform (every organization)")


def test_the_new_session_form_offers_templates_grouped_by_scope(web, member, builtins):
    make_template(member, "organization", name="Team fixer")
    page = web(member).get("/sessions/new/").content.decode()
    assert (
        'optgroup label="Organization"' in page and 'optgroup label="Built-in and platform"' in page
    )
    assert "Team fixer" in page and 'id="templates-data"' in page
    assert web(member).get("/sessions/new/?template=code-review").status_code == 200


def test_viewers_get_no_selector(web, viewer, builtins):
    # Viewers cannot start sessions at all; the page says so (403) before any selector.
    assert web(viewer).get("/sessions/new/").status_code == 403


def test_creating_a_template_from_the_form(web, member):
    answer = web(member).post(
        "/templates/new/",
        {
            "name": "Docs pass",
            "scope": "organization",
            "initial_prompt": "Document {repo} for {audience}",
            "variables": "repo\n*audience\nstyle = terse",
            "project_type": "github",
            "github_repo": "acme/docs",
            "allowed_tools": "Read, Write",
            "max_duration": "2 hours",
            "max_turns": "10",
            "auto_close": "on",
        },
    )
    template = SessionTemplate.objects.get(slug="docs-pass")
    assert answer.status_code == 302 and answer.url == f"/templates/{template.pk}/"
    config = template.versions.get().config
    assert config["metadata"] == {
        "allowedTools": ["Read", "Write"],
        "maxTurns": 10,
        "maxDuration": 7200,
        "autoClose": True,
    }
    assert [(v["name"], v["required"], v["default"]) for v in config["variables"]] == [
        ("repo", False, ""),
        ("audience", True, ""),
        ("style", False, "terse"),
    ]


def test_a_refused_template_shows_the_reason_and_saves_nothing(web, member):
    answer = web(member).post(
        "/templates/new/",
        {"name": "Bad", "scope": "organization", "max_duration": "whenever"},
    )
    assert answer.status_code == 400
    assert "maxDuration" in answer.content.decode()
    assert not SessionTemplate.objects.filter(slug="bad").exists()


def test_editing_makes_a_version_and_the_diff_shows_the_change(web, member):
    template = make_template(member)
    client = web(member)
    page = client.get(f"/templates/{template.pk}/").content.decode()
    assert "Save as a new version" in page
    answer = client.post(
        f"/templates/{template.pk}/",
        {
            "name": "Fixer",
            "initial_prompt": "Only fix PR #{pr_number}",
            "variables": "*pr_number",
            "max_turns": "5",
        },
    )
    assert answer.status_code == 302
    template.refresh_from_db()
    assert template.latest_version == 2
    # The form shows the whole config: what it leaves out is removed.
    assert template.versions.get(number=2).config["metadata"] == {"maxTurns": 5}
    diff = client.get(f"/templates/{template.pk}/diff/?from=1&to=2").content.decode()
    assert 'class="diff-removed">-Fix {repo} on {branch}' in diff
    assert 'class="diff-added">+Only fix PR #{pr_number}' in diff
    assert client.get(f"/templates/{template.pk}/diff/?from=9&to=2").status_code == 404


def test_a_viewer_reads_but_cannot_edit_or_archive(web, member, viewer):
    template = make_template(member)
    client = web(viewer)
    page = client.get(f"/templates/{template.pk}/").content.decode()
    assert "Save as a new version" not in page and "template-config" in page
    assert client.post(f"/templates/{template.pk}/", {"name": "x"}).status_code == 403
    assert client.post(f"/templates/{template.pk}/archive/").status_code == 403
    assert not SessionTemplate.objects.get(pk=template.pk).is_archived


def test_another_organizations_template_is_a_404(web, member, outsider):
    template = make_template(outsider)
    client = web(member)
    for path in ("", "diff/", "archive/"):
        method = client.post if path == "archive/" else client.get
        assert method(f"/templates/{template.pk}/{path}").status_code == 404


def test_archive_and_restore(web, member):
    template = make_template(member)
    client = web(member)
    client.post(f"/templates/{template.pk}/archive/")
    assert SessionTemplate.objects.get(pk=template.pk).is_archived
    assert template.name not in client.get("/templates/").content.decode()
    assert template.name in client.get("/templates/?archived=1").content.decode()
    client.post(f"/templates/{template.pk}/archive/")
    assert not SessionTemplate.objects.get(pk=template.pk).is_archived


def test_save_as_template_copies_the_sessions_settings(web, member):
    session = new_session(
        member, name="Nightly", initial_prompt="Tidy up", metadata={"maxTurns": 7}, git_ref="dev"
    )
    client = web(member)
    detail = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f"/templates/new/?from_session={session.pk}" in detail
    form = client.get(f"/templates/new/?from_session={session.pk}").content.decode()
    assert 'value="Nightly"' in form and "Tidy up" in form and 'value="dev"' in form
    assert 'name="max_turns" value="7"' in form


def launch_form(template, **fields) -> dict:
    return {
        "template": str(template.pk),
        "name": "From the form",
        "project_type": "github",
        "github_repo": "acme/widgets",
        "initial_prompt": template.versions.get(number=template.latest_version).config[
            "initial_prompt"
        ],
        "mode": "managed",
        **fields,
    }


def test_launching_from_the_new_session_form(web, member):
    template = make_template(member)
    answer = web(member).post(
        "/templates/launch/", launch_form(template, **{"variable-pr_number": "12"})
    )
    session = Session.objects.get()
    assert answer.status_code == 302 and answer.url == f"/sessions/{session.pk}/"
    assert (
        session.initial_prompt
        == "Fix acme/widgets on main: PR #12 (untitled). Keep {braces} as they are."
    )
    assert session.metadata["maxTurns"] == 5
    assert TemplateLaunch.objects.get(session=session).version.number == 1
    detail = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert "data-session-template" in detail and "version 1" in detail


def test_a_refused_launch_keeps_the_form_and_names_the_variable(web, member):
    template = make_template(member)
    answer = web(member).post("/templates/launch/", launch_form(template))
    page = answer.content.decode()
    assert answer.status_code == 400
    assert "variables: pr_number: required by this template" in page
    assert f'<option value="{template.pk}" title="" selected>' in page
    assert not Session.objects.exists()
