"""The session list (search, columns, pagination, live discovery of new sessions) and the
new-session form (the sources the server allows, the advanced options, the role rules),
through Django's test client against the real services."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sessions.choices import SessionStatus
from sessions.models import Session
from sessions.templatetags import session_list
from sessions.web import views
from tests.conftest import new_session
from tests.sessions.web.test_dashboard import field_block, new_session_form

pytestmark = pytest.mark.django_db


def names_on(response) -> list[str]:
    body = response.content.decode()
    return [html.unescape(n) for n in re.findall(r'class="session-name"[^>]*>([^<]*)<', body)]


def list_config(response) -> dict:
    found = re.search(
        r'<script id="list-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, "the list page carries list.js's configuration"
    return json.loads(found.group(1))


@pytest.fixture
def searchable(member, owner, outsider):
    """Sessions to find, one per field searched, and an outsider's that matches everything."""
    new_session(member, name="Fix the login bug", github_repo="acme/portal")
    new_session(owner, name="nightly", initial_prompt="Upgrade the LOGIN library")
    new_session(member, name="docs", github_repo="acme/login-service")
    new_session(member, name="unrelated", initial_prompt="Rename a variable")
    new_session(outsider, name="login secrets", initial_prompt="login", github_repo="x/login")


# --- search -----------------------------------------------------------------------------


def test_search_finds_sessions_by_name_prompt_and_repository(web, member, searchable):
    found = names_on(web(member).get("/?q=login"))
    assert sorted(found) == ["Fix the login bug", "docs", "nightly"]
    # Every word must appear, each anywhere, in any case.
    assert names_on(web(member).get("/?q=LOGIN+portal")) == ["Fix the login bug"]
    assert names_on(web(member).get("/?q=  rename   variable ")) == ["unrelated"]


def test_search_never_shows_another_organizations_session(web, member, outsider, searchable):
    body = web(member).get("/?q=secrets").content.decode()
    assert "login secrets" not in body
    assert "No session matches “secrets”" in body
    assert names_on(web(outsider).get("/?q=login")) == ["login secrets"]


def test_search_finds_local_sessions_by_folder(web, member, project_root):
    new_session(
        member,
        name="local one",
        project_type="local",
        github_repo="",
        local_path=str(project_root / "app"),
    )
    new_session(member, name="remote one")
    assert names_on(web(member).get("/?q=projects/app")) == ["local one"]


def test_search_combines_with_the_filters(web, member, searchable):
    running = Session.objects.get(name="docs")
    Session.objects.filter(pk=running.pk).update(status=SessionStatus.RUNNING)
    assert names_on(web(member).get("/?q=login&status=running")) == ["docs"]
    body = web(member).get("/?q=login&status=stopped").content.decode()
    assert "No session matches “login” with these filters" in body


def test_api_search_agrees_with_the_list(api, web, member, searchable):
    answer = api(member).get("/api/sessions/", {"q": "login"})
    assert answer.status_code == 200
    assert sorted(s["name"] for s in answer.json()["results"]) == sorted(
        names_on(web(member).get("/?q=login"))
    )
    answer = api(member).get("/api/sessions/", {"q": "LOGIN portal", "project_type": "github"})
    assert [s["name"] for s in answer.json()["results"]] == ["Fix the login bug"]


@pytest.mark.parametrize("query", ["x" * 201, "log\x00in"])
def test_api_refuses_a_search_it_cannot_run_naming_q(api, member, query):
    answer = api(member).get("/api/sessions/", {"q": query})
    assert answer.status_code == 400
    assert "q" in answer.json()


def test_a_search_the_list_cannot_run_is_said_not_a_500(web, member, searchable):
    response = web(member).get("/", {"q": "x" * 201})
    assert response.status_code == 200
    assert "Ensure this value has at most 200 characters" in response.content.decode()


# --- columns ----------------------------------------------------------------------------


def test_rows_show_cost_tool_calls_duration_and_a_prompt_preview(web, member):
    prompt = "Refactor the billing module " + "and keep going " * 40
    session = new_session(member, name="long one", initial_prompt=prompt)
    created = timezone.now() - timedelta(minutes=3, seconds=4)
    Session.objects.filter(pk=session.pk).update(
        created_at=created,
        ended_at=created + timedelta(minutes=2, seconds=5),
        status=SessionStatus.COMPLETED,
        cost_usd=Decimal("1234.5"),
        tool_call_count=12345,
    )
    body = web(member).get("/").content.decode()
    assert 'data-usd="1234.5000"' in body and "$1234.5000" in body
    assert 'data-tool-calls data-number="12345">12345<' in body
    assert ">2 min 5 s<" in body  # created → ended
    preview = re.search(r'<p class="session-prompt" data-prompt title="([^"]*)">([^<]*)<', body)
    assert preview, "a prompt preview"
    assert html.unescape(preview.group(1)) == prompt  # the whole prompt on hover
    assert len(preview.group(2)) <= 140 and preview.group(2).endswith("…")


def test_a_running_sessions_duration_runs_to_now(web, member):
    session = new_session(member)
    Session.objects.filter(pk=session.pk).update(created_at=timezone.now() - timedelta(hours=2))
    body = web(member).get("/").content.decode()
    assert ">2 h 0 min<" in body and 'data-end=""' in body


@pytest.mark.parametrize(
    "seconds, label", [(0, "0 s"), (59.9, "59 s"), (61, "1 min 1 s"), (7322, "2 h 2 min")]
)
def test_elapsed_label(seconds, label):
    assert session_list.elapsed_label(seconds) == label


# --- pagination and empty states --------------------------------------------------------


def test_pagination_shows_numbers_and_counts_and_keeps_search_and_filters(web, member):
    for number in range(views.SESSIONS_PER_PAGE * 2 + 3):
        new_session(member, name=f"match-{number:02d}")
    new_session(member, name="other")
    first = web(member).get("/?q=match&status=preparing").content.decode()
    assert 'Sessions <span data-number="1">1</span>–<span data-number="25">25</span>' in first
    assert (
        '<span data-total data-number="53">53</span> <span data-total-noun>sessions</span> '
        "matching “match”"
    ) in first
    assert 'aria-current="page">1<' in first
    for page in (2, 3):
        assert f'href="?q=match&amp;status=preparing&amp;page={page}">{page}<' in first
    assert 'rel="next" href="?q=match&amp;status=preparing&amp;page=2"' in first
    last = web(member).get("/?q=match&status=preparing&page=3").content.decode()
    assert 'rel="prev" href="?q=match&amp;status=preparing&amp;page=2"' in last
    assert "Page 3 of 3" in last and "other" not in last
    assert list_config(web(member).get("/?page=2"))["discover"] is False


def test_empty_states_say_what_to_do(web, member, viewer):
    assert "Start the first one" in web(member).get("/").content.decode()
    viewer_page = web(viewer).get("/").content.decode()
    assert "Start the first one" not in viewer_page and "read-only access" in viewer_page
    new_session(member, name="one")
    assert "try fewer or shorter words" in web(member).get("/?q=nothing").content.decode()


# --- live discovery of new sessions -----------------------------------------------------


def discover(client, since, **params):
    return client.get("/sessions/statuses/", {"since": since, **params})


def test_statuses_bring_sessions_created_since_rendered_as_rows(web, member, owner, outsider):
    shown = new_session(member, name="on the page")
    config = list_config(web(member).get("/"))
    assert config["discover"] is True
    fresh = new_session(owner, name="made <elsewhere>")
    new_session(outsider, name="not yours")
    answer = discover(web(member), config["since"], id=str(shown.pk)).json()
    assert [row["id"] for row in answer["new_sessions"]] == [str(fresh.pk)]
    row = answer["new_sessions"][0]["html"]
    assert f'data-session-id="{fresh.pk}"' in row and "made &lt;elsewhere&gt;" in row
    assert answer["since"] > config["since"]
    # Once on the page (its id sent), it is not brought again.
    answer = discover(web(member), config["since"], id=[str(shown.pk), str(fresh.pk)]).json()
    assert answer["new_sessions"] == []


def test_discovery_respects_the_pages_filters_and_search(web, member):
    since = list_config(web(member).get("/?q=deploy"))["since"]
    new_session(member, name="deploy the app")
    new_session(member, name="write docs")
    answer = discover(web(member), since, q="deploy").json()
    assert [r["html"].count("deploy the app") for r in answer["new_sessions"]] == [1]
    assert discover(web(member), since, q="deploy", status="running").json()["new_sessions"] == []


def test_discovery_respects_own_session_visibility(web, member, owner, org):
    org.settings = {**(org.settings or {}), "sessionVisibility": "own"}
    org.save()
    since = (timezone.now() - timedelta(seconds=1)).isoformat()
    mine = new_session(member, name="mine")
    new_session(owner, name="the owner's")
    answer = discover(web(member), since).json()
    assert [row["id"] for row in answer["new_sessions"]] == [str(mine.pk)]
    assert len(discover(web(owner), since).json()["new_sessions"]) == 2


@pytest.mark.parametrize("since", ["yesterday", "2026-01-01T00:00:00", "2026-13-45T00:00:00Z"])
def test_discovery_refuses_a_since_it_cannot_read(web, member, since):
    answer = discover(web(member), since)
    assert answer.status_code == 400
    assert "since must be an ISO 8601" in answer.json()["detail"]


def test_discovery_looks_back_at_most_a_day(web, member):
    old = new_session(member, name="old")
    Session.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    answer = discover(web(member), "0001-01-01T00:00:00+00:00").json()
    assert answer["new_sessions"] == []


def test_statuses_tell_when_a_session_ended(web, member):
    session = new_session(member)
    Session.objects.filter(pk=session.pk).update(ended_at=timezone.now())
    status = web(member).get("/sessions/statuses/", {"id": session.pk}).json()["sessions"][0]
    assert status["ended_at"] and status["created_at"]


# --- the new-session form: sources --------------------------------------------------------


def test_form_offers_no_local_folder_when_local_sessions_are_disabled(web, member):
    body = web(member).get("/sessions/new/").content.decode()
    assert 'value="github"' in body
    assert 'value="local"' not in body and 'data-project="local"' not in body
    assert "Local folders are not enabled for your organization" in body


def test_a_local_session_is_refused_on_post_when_disabled(web, member):
    response = web(member).post(
        "/sessions/new/", new_session_form(project_type="local", local_path="/srv/app")
    )
    assert response.status_code == 400
    assert "Local sessions are disabled" in field_block(response.content.decode(), "local_path")
    assert Session.objects.count() == 0


def test_form_offers_a_local_folder_when_the_organization_has_local_roots(
    web, member, project_root
):
    body = web(member).get("/sessions/new/").content.decode()
    assert 'value="local"' in body and 'data-project="local"' in body
    assert "data-local-disabled" not in body


# --- the new-session form: advanced options -----------------------------------------------


def advanced_section(body: str) -> str:
    found = re.search(r"<details class=\"advanced\" data-advanced[^>]*>(.*?)</details>", body, re.S)
    assert found, "the advanced options are folded in a <details>"
    return found.group(0)


def test_advanced_options_are_folded_and_show_the_servers_defaults(web, member, settings):
    settings.AGENT_MODEL = "claude-sonnet-4-5"
    settings.AGENT_PERMISSION_MODE = "default"
    settings.AGENT_MAX_TURNS = 50
    settings.AGENT_MAX_DURATION = 3600
    settings.AGENT_ALLOWED_TOOLS = ["Bash", "Read"]
    section = advanced_section(web(member).get("/sessions/new/").content.decode())
    assert section.startswith('<details class="advanced" data-advanced>')  # folded
    assert 'value="claude-sonnet-4-5"' in section
    assert re.search(r'value="default"[^>]*checked', section)
    assert (
        'name="max_turns" value="50"' in section and 'name="max_duration" value="3600"' in section
    )
    assert re.search(r'value="Bash"[^>]*checked', section)


def test_advanced_options_show_the_organizations_defaults(web, member, org):
    org.settings = {
        "maxTurns": 30,
        "sessionDefaults": {"model": "claude-haiku", "permissionMode": "plan", "maxTurns": 20},
    }
    org.save()
    section = advanced_section(web(member).get("/sessions/new/").content.decode())
    assert 'value="claude-haiku"' in section
    assert re.search(r'value="plan"[^>]*checked', section)
    assert 'value="20"' in section and 'max="30"' in section


def test_advanced_options_reach_the_created_session(web, member):
    response = web(member).post(
        "/sessions/new/",
        new_session_form(
            model="claude-opus-4-1",
            permission_mode="acceptEdits",
            allowed_tools=["Read", "Grep"],
            max_turns="7",
            max_duration="900",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    session = Session.objects.get()
    assert session.metadata == {
        "model": "claude-opus-4-1",
        "permissionMode": "acceptEdits",
        "allowedTools": ["Read", "Grep"],
        "maxTurns": 7,
        "maxDuration": 900,
    }


def test_options_left_at_their_defaults_are_the_organizations(web, member, org, settings):
    settings.AGENT_ALLOWED_TOOLS = ["Bash", "Read"]
    org.settings = {"sessionDefaults": {"model": "claude-haiku", "maxTurns": 20}}
    org.save()
    form = new_session_form(
        model="claude-haiku",
        permission_mode=settings.AGENT_PERMISSION_MODE,
        allowed_tools=["Bash", "Read"],
        max_turns="20",
        max_duration=str(settings.AGENT_MAX_DURATION),
    )
    assert web(member).post("/sessions/new/", form).status_code == 302
    # The service filled in the organization's defaults, as for an API request saying nothing.
    assert Session.objects.get().metadata == {"model": "claude-haiku", "maxTurns": 20}


def test_a_member_is_not_offered_bypass_permissions_and_is_refused_it(web, member, settings):
    settings.AGENT_PERMISSION_MODE = "default"
    section = advanced_section(web(member).get("/sessions/new/").content.decode())
    assert 'value="acceptEdits"' in section and 'value="bypassPermissions"' not in section
    response = web(member).post(
        "/sessions/new/", new_session_form(permission_mode="bypassPermissions")
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Only organization admins may set permissionMode bypassPermissions" in field_block(
        body, "permission_mode"
    )
    assert '<details class="advanced" data-advanced open>' in body
    assert Session.objects.count() == 0


def test_an_admin_is_offered_bypass_permissions_and_may_choose_it(web, owner, settings):
    settings.AGENT_PERMISSION_MODE = "default"
    section = advanced_section(web(owner).get("/sessions/new/").content.decode())
    assert 'value="bypassPermissions"' in section
    response = web(owner).post(
        "/sessions/new/", new_session_form(permission_mode="bypassPermissions")
    )
    assert response.status_code == 302
    assert Session.objects.get().metadata["permissionMode"] == "bypassPermissions"


def test_a_privileged_default_an_admin_chose_is_offered_and_kept(web, member, org):
    org.settings = {"sessionDefaults": {"permissionMode": "bypassPermissions"}}
    org.save()
    section = advanced_section(web(member).get("/sessions/new/").content.decode())
    assert re.search(r'value="bypassPermissions"[^>]*checked', section)
    response = web(member).post(
        "/sessions/new/", new_session_form(permission_mode="bypassPermissions")
    )
    assert response.status_code == 302
    assert Session.objects.get().metadata["permissionMode"] == "bypassPermissions"


def test_a_member_may_not_allow_tools_beyond_the_organizations_list(web, member, org):
    org.settings = {"allowedTools": ["Read", "Grep"]}
    org.save()
    section = advanced_section(web(member).get("/sessions/new/").content.decode())
    assert 'value="Read"' in section and 'value="WebFetch"' not in section
    response = web(member).post("/sessions/new/", new_session_form(allowed_tools=["WebFetch"]))
    assert response.status_code == 400
    assert "WebFetch" in field_block(response.content.decode(), "allowed_tools")
    assert Session.objects.count() == 0


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("max_turns", "31", "maxTurns must be a whole number from 1 to 30"),
        ("max_duration", "0", "Ensure this value is greater than or equal to 1"),
        ("max_turns", "many", "Enter a whole number"),
        ("model", "m" * 101, "Ensure this value has at most 100 characters"),
        ("permission_mode", "yolo", "Select a valid choice"),
    ],
)
def test_bad_advanced_options_are_field_errors(web, member, org, field, value, message):
    org.settings = {"maxTurns": 30}
    org.save()
    response = web(member).post("/sessions/new/", new_session_form(**{field: value}))
    assert response.status_code == 400
    assert message in html.unescape(field_block(response.content.decode(), field))
    assert Session.objects.count() == 0


def test_the_api_refuses_what_the_form_refuses(api, member):
    answer = api(member).post(
        "/api/sessions/",
        {
            "name": "n",
            "project_type": "github",
            "github_repo": "acme/widgets",
            "metadata": {"permissionMode": "bypassPermissions"},
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "permissionMode bypassPermissions" in json.dumps(answer.json())
