"""The templates API: who sees and edits which template, versions, archive instead of delete,
and starting a session from a template (variables, overrides, the sessions' own 400s)."""

from __future__ import annotations

import pytest

from sessions.models import Session
from templates.models import SessionTemplate, TemplateLaunch, TemplateVersion
from tenants.choices import AuditAction
from tenants.models import AuditEvent
from tests.templates.conftest import make_template

pytestmark = pytest.mark.django_db

LAUNCH = "/api/sessions/from-template"


@pytest.fixture(autouse=True)
def _no_turns(monkeypatch):
    # Sessions launched here are checked, not run (tests/templates/test_builtins_e2e runs them).
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)


def slugs(answer) -> set[str]:
    assert answer.status_code == 200, answer.content
    return {t["slug"] for t in answer.json()["results"]}


# --- visibility --------------------------------------------------------------------------


def test_each_user_sees_platform_their_organizations_and_their_own_templates(
    api, builtins, owner, member, viewer, outsider
):
    make_template(owner, "organization", slug="acme-shared")
    make_template(member, "personal", slug="members-own")
    make_template(outsider, "organization", slug="globex-shared")
    platform = set(builtins)
    assert slugs(api(member).get("/api/templates/")) == platform | {"acme-shared", "members-own"}
    assert slugs(api(owner).get("/api/templates/")) == platform | {"acme-shared"}
    assert slugs(api(viewer).get("/api/templates/")) == platform | {"acme-shared"}
    assert slugs(api(outsider).get("/api/templates/")) == platform | {"globex-shared"}
    assert api(None).get("/api/templates/").status_code == 401


def test_an_invisible_template_is_a_404_on_every_route(api, member, outsider, owner):
    theirs = make_template(outsider, "organization")
    personal = make_template(member, "personal")
    for user, template in ((member, theirs), (owner, personal)):
        client = api(user)
        for method, path in (
            ("get", f"/api/templates/{template.pk}/"),
            ("patch", f"/api/templates/{template.pk}/"),
            ("delete", f"/api/templates/{template.pk}/"),
            ("get", f"/api/templates/{template.pk}/versions/"),
        ):
            answer = getattr(client, method)(path, {"name": "x"}, format="json")
            assert answer.status_code == 404, (method, path, answer.content)
        launched = client.post(LAUNCH, {"template": str(template.pk)}, format="json")
        assert launched.status_code == 404
        launched = client.post(LAUNCH, {"template": template.slug}, format="json")
        assert launched.status_code == 404
    assert SessionTemplate.objects.get(pk=theirs.pk).name == theirs.name


def test_scope_filter_and_archived_listing(api, builtins, member):
    mine = make_template(member, "organization", slug="mine")
    client = api(member)
    assert slugs(client.get("/api/templates/?scope=organization")) == {"mine"}
    client.patch(f"/api/templates/{mine.pk}/", {"archived": True}, format="json")
    assert "mine" not in slugs(client.get("/api/templates/"))
    assert slugs(client.get("/api/templates/?archived=true")) == {"mine"}


# --- create and edit ---------------------------------------------------------------------


def test_a_member_creates_an_organization_template_with_version_one(api, member):
    answer = api(member).post(
        "/api/templates/",
        {
            "scope": "organization",
            "name": "Nightly docs",
            "config": {
                "initial_prompt": "Update the docs of {repo}",
                "variables": [{"name": "repo", "required": True}],
                "metadata": {"maxDuration": "90 minutes", "autoClose": True},
            },
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="make-docs",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["slug"], body["version"], body["organization"]) == ("nightly-docs", 1, "acme")
    assert body["config"]["metadata"] == {"maxDuration": 5400, "autoClose": True}
    assert body["config"]["variables"] == [
        {"name": "repo", "default": "", "required": True, "description": ""}
    ]
    event = AuditEvent.objects.get(action=AuditAction.TEMPLATE_CREATED)
    assert event.target_id == body["id"] and event.organization_id == member.organization_id


def test_creating_twice_with_one_idempotency_key_makes_one_template(api, member):
    body = {"scope": "personal", "name": "Mine", "config": {"initial_prompt": "hi"}}
    client = api(member)
    first = client.post("/api/templates/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = client.post("/api/templates/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert SessionTemplate.objects.filter(slug="mine").count() == 1


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"initial_prompt": 5}, "initial_prompt"),
        ({"budget": 5}, "budget"),
        ({"metadata": {"createPullRequest": "yes"}}, "createPullRequest"),
        ({"metadata": {"maxDuration": "soon"}}, "maxDuration"),
        ({"metadata": {"maxTurns": 100000}}, "maxTurns"),
        ({"metadata": {"permissionMode": "yolo"}}, "permissionMode"),
        ({"metadata": {"autoClose": "yes"}}, "autoClose"),
        ({"variables": [{"name": "Bad Name"}]}, "variables[0].name"),
        ({"variables": [{"name": "a"}, {"name": "a"}]}, "declared twice"),
        ({"github_repo": "ssh://127.0.0.1/x"}, "github_repo"),
        ({"initial_prompt": "nul \u0000 here"}, "NUL"),
    ],
)
def test_a_bad_config_is_a_400_naming_the_key_and_writes_nothing(api, member, config, named):
    answer = api(member).post(
        "/api/templates/",
        {"scope": "organization", "name": "Bad", "config": config},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    assert named in answer.content.decode()
    assert not SessionTemplate.objects.filter(organization=member.organization).exists()


def test_who_may_create_which_scope(api, member, viewer, superuser):
    body = {"name": "T", "config": {}}
    assert (
        api(member)
        .post("/api/templates/", {**body, "scope": "platform"}, format="json")
        .status_code
        == 403
    )
    assert (
        api(viewer)
        .post("/api/templates/", {**body, "scope": "personal"}, format="json")
        .status_code
        == 403
    )
    made = api(superuser).post("/api/templates/", {**body, "scope": "platform"}, format="json")
    assert made.status_code == 201 and made.json()["organization"] is None


def test_a_slug_is_unique_within_its_scope(api, member, owner):
    make_template(member, "organization", slug="same")
    again = api(owner).post(
        "/api/templates/",
        {"scope": "organization", "slug": "same", "name": "Other", "config": {}},
        format="json",
    )
    assert again.status_code == 400 and "slug" in again.json()
    personal = api(owner).post(
        "/api/templates/",
        {"scope": "personal", "slug": "same", "name": "Mine", "config": {}},
        format="json",
    )
    assert personal.status_code == 201


def test_every_edit_is_a_new_immutable_version(api, member):
    template = make_template(member)
    client = api(member)
    patch = {"config": {"metadata": {"maxTurns": 9, "allowedTools": None}}, "name": "Renamed"}
    answer = client.patch(f"/api/templates/{template.pk}/", patch, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["version"] == 2
    assert answer.json()["config"]["metadata"] == {"maxTurns": 9, "maxDuration": 7200}
    # The same again changes nothing: no empty version.
    assert (
        client.patch(f"/api/templates/{template.pk}/", patch, format="json").json()["version"] == 2
    )
    versions = client.get(f"/api/templates/{template.pk}/versions/").json()["results"]
    assert [(v["number"], v["name"]) for v in versions] == [
        (2, "Renamed"),
        (1, "organization fixer"),
    ]
    assert versions[1]["config"]["metadata"]["allowedTools"] == ["Read", "Bash"]
    with pytest.raises(Exception, match="never changes"):
        version = TemplateVersion.objects.get(template=template, number=1)
        version.name = "rewritten"
        version.save()


def test_a_bad_edit_is_a_400_and_keeps_the_version(api, member):
    template = make_template(member)
    answer = api(member).patch(
        f"/api/templates/{template.pk}/", {"config": {"metadata": {"maxTurns": 0}}}, format="json"
    )
    assert answer.status_code == 400 and "maxTurns" in answer.content.decode()
    assert TemplateVersion.objects.filter(template=template).count() == 1


def test_who_may_edit(api, member, owner, viewer, outsider, builtins, superuser):
    organization_template = make_template(member)
    personal = make_template(member, "personal")
    code_review = builtins["code-review"]
    rename = {"name": "New name"}
    assert (
        api(owner)
        .patch(f"/api/templates/{organization_template.pk}/", rename, format="json")
        .status_code
        == 200
    )
    assert (
        api(viewer)
        .patch(f"/api/templates/{organization_template.pk}/", rename, format="json")
        .status_code
        == 403
    )
    assert (
        api(member).patch(f"/api/templates/{code_review.pk}/", rename, format="json").status_code
        == 403
    )
    assert (
        api(owner).patch(f"/api/templates/{personal.pk}/", rename, format="json").status_code == 404
    )
    assert (
        api(member).patch(f"/api/templates/{personal.pk}/", rename, format="json").status_code
        == 200
    )
    edited = api(superuser).patch(f"/api/templates/{code_review.pk}/", rename, format="json")
    assert edited.status_code == 200 and edited.json()["version"] == 2


# --- delete and archive ------------------------------------------------------------------


def test_an_unused_template_is_deleted(api, member):
    template = make_template(member)
    assert api(member).delete(f"/api/templates/{template.pk}/").status_code == 204
    assert not SessionTemplate.objects.filter(pk=template.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.TEMPLATE_DELETED).count() == 1


def test_a_template_sessions_came_from_is_archived_not_deleted(api, member):
    template = make_template(member)
    client = api(member)
    launched = client.post(
        LAUNCH, {"template": template.slug, "variables": {"pr_number": 1}}, format="json"
    )
    assert launched.status_code == 201, launched.content
    answer = client.delete(f"/api/templates/{template.pk}/")
    assert answer.status_code == 200 and answer.json()["archived"] is True
    assert SessionTemplate.objects.get(pk=template.pk).is_archived
    refused = client.post(
        LAUNCH, {"template": template.slug, "variables": {"pr_number": 1}}, format="json"
    )
    assert refused.status_code == 409 and "archived" in refused.json()["detail"]
    restored = client.patch(f"/api/templates/{template.pk}/", {"archived": False}, format="json")
    assert restored.json()["archived"] is False


# --- launching ---------------------------------------------------------------------------


def launch(client, template, **body):
    return client.post(LAUNCH, {"template": str(template.pk), **body}, format="json")


def test_launch_fills_variables_from_values_source_and_defaults(api, member):
    template = make_template(member)
    answer = launch(api(member), template, variables={"pr_number": 42}, git_ref="dev")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["initial_prompt"] == (
        "Fix acme/widgets on dev: PR #42 (untitled). Keep {braces} as they are."
    )
    assert body["name"] == "organization fixer: acme/widgets"
    assert body["metadata"] == {
        "maxTurns": 5,
        "maxDuration": 7200,
        "allowedTools": ["Read", "Bash"],
    }
    assert body["template"] == {"id": str(template.pk), "slug": template.slug, "version": 1}
    assert body["mode"] == "managed" and body["git_ref"] == "dev"
    record = TemplateLaunch.objects.get(session_id=body["id"])
    assert (record.version.number, record.variables) == (1, {"pr_number": 42})


def test_launch_by_slug_prefers_the_nearest_scope(api, member, builtins):
    mine = make_template(member, "personal", slug="code-review", name="My review")
    answer = api(member).post(
        LAUNCH, {"template": "code-review", "variables": {"pr_number": "7"}}, format="json"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["template"]["id"] == str(mine.pk)


def test_a_missing_required_variable_is_a_400_naming_it(api, member):
    template = make_template(member)
    answer = launch(api(member), template)
    assert answer.status_code == 400
    assert answer.json() == {
        "variables": ["pr_number: required by this template; give it a value."]
    }
    assert not Session.objects.exists()


def test_an_undeclared_variable_is_a_400_naming_it(api, member):
    template = make_template(member)
    answer = launch(api(member), template, variables={"pr_number": 1, "ticket": "X-1"})
    assert answer.status_code == 400
    assert "ticket: not declared" in answer.json()["variables"][0]
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    "value", ["true", '["a"]', '{"a": 1}', '"' + "x" * 1001 + '"', '"\\udc00"']
)
def test_a_variable_value_must_be_short_text_or_a_number(api, member, value):
    template = make_template(member)
    body = f'{{"template": "{template.pk}", "variables": {{"pr_number": {value}}}}}'
    answer = api(member).post(LAUNCH, body, content_type="application/json")
    assert answer.status_code == 400 and "pr_number" in answer.content.decode()
    assert not Session.objects.exists()


def test_overrides_are_deep_merged_over_the_template(api, member):
    template = make_template(member)
    answer = launch(
        api(member),
        template,
        variables={"pr_number": 3},
        overrides={"name": "Mine", "metadata": {"maxTurns": 2, "allowedTools": None}},
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["name"] == "Mine"
    assert answer.json()["metadata"] == {"maxTurns": 2, "maxDuration": 7200}


def session_create_answer(client, **fields):
    body = {"name": "x", "project_type": "github", "github_repo": "acme/widgets", **fields}
    return client.post("/api/sessions/", body, format="json")


@pytest.mark.parametrize(
    "overrides",
    [
        {"metadata": {"maxTurns": 100000}},
        {"metadata": {"permissionMode": "bypassPermissions"}},
        {"metadata": {"allowedTools": ["WebFetch"]}},
        {"metadata": {"autoClose": "sometimes"}},
        {"github_repo": "ssh://127.0.0.1/x"},
        {"project_type": "local", "github_repo": "", "local_path": "/etc"},
        {"name": ""},
    ],
)
def test_overrides_are_refused_exactly_as_a_session_create_is(api, member, overrides):
    """The merged request is checked by the sessions' own serializer and service: the same
    400 as POST /api/sessions/ with the same values, and nothing written."""
    template = make_template(member)
    client = api(member)
    answer = launch(client, template, variables={"pr_number": 1}, overrides=overrides)
    metadata = {"maxTurns": 5, "maxDuration": 7200, "allowedTools": ["Read", "Bash"]}
    direct_fields = {
        "metadata": {**metadata, **overrides.get("metadata", {})},
        **{k: v for k, v in overrides.items() if k != "metadata"},
    }
    direct = session_create_answer(client, **direct_fields)
    assert answer.status_code == direct.status_code == 400, (answer.content, direct.content)
    assert answer.json() == direct.json()
    assert not Session.objects.exists() and not TemplateLaunch.objects.exists()


def test_an_override_of_something_no_session_takes_is_a_400(api, member):
    answer = launch(
        api(member),
        make_template(member),
        variables={"pr_number": 1},
        overrides={"mode": "attached"},
    )
    assert answer.status_code == 400 and "mode" in answer.json()["overrides"][0]


def test_viewers_and_superusers_do_not_launch(api, viewer, superuser, builtins):
    body = {"template": "code-review", "variables": {"pr_number": 1}}
    assert api(viewer).post(LAUNCH, body, format="json").status_code == 403
    assert api(superuser).post(LAUNCH, body, format="json").status_code == 400


def test_launch_replays_with_the_same_idempotency_key(api, member):
    template = make_template(member)
    client = api(member)
    body = {"template": str(template.pk), "variables": {"pr_number": 1}}
    first = client.post(LAUNCH, body, format="json", HTTP_IDEMPOTENCY_KEY="once")
    again = client.post(LAUNCH, body, format="json", HTTP_IDEMPOTENCY_KEY="once")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert Session.objects.count() == 1


def test_a_session_keeps_its_version_after_the_template_changes(api, member):
    template = make_template(member)
    client = api(member)
    first = launch(client, template, variables={"pr_number": 1}).json()
    client.patch(
        f"/api/templates/{template.pk}/",
        {"config": {"initial_prompt": "New {pr_number}"}},
        format="json",
    )
    second = launch(client, template, variables={"pr_number": 2}).json()
    assert (first["template"]["version"], second["template"]["version"]) == (1, 2)
    assert second["initial_prompt"] == "New 2"
    assert TemplateLaunch.objects.get(session_id=first["id"]).version.number == 1
    assert Session.objects.get(pk=first["id"]).initial_prompt.startswith("Fix acme/widgets")
    versions = client.get(f"/api/templates/{template.pk}/versions/").json()["results"]
    assert [(v["number"], v["sessions"]) for v in versions] == [(2, 1), (1, 1)]


def test_version_counts_are_of_the_users_own_sessions(api, member, outsider, builtins):
    body = {"template": "security-audit", "github_repo": "acme/widgets"}
    assert api(member).post(LAUNCH, body, format="json").status_code == 201
    assert api(outsider).post(LAUNCH, body, format="json").status_code == 201
    template = builtins["security-audit"]
    for user in (member, outsider):
        versions = api(user).get(f"/api/templates/{template.pk}/versions/").json()["results"]
        assert [(v["number"], v["sessions"]) for v in versions] == [(1, 1)]
