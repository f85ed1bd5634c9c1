"""The web dashboard through Django's test client: who sees which page, what each form does,
and that everything shown is escaped."""

from __future__ import annotations

import json
import re
from unittest import mock

import pytest
from django.test import Client

from sessions import services
from sessions.choices import Direction, SessionMode, SessionStatus
from sessions.hooks import tokens as hook_tokens
from sessions.models import Session, SessionMessage
from sessions.web import views
from tenants.choices import AuditAction
from tenants.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def make_session(user, **extra) -> Session:
    return services.create_session(
        organization=user.organization,
        actor=user,
        name=extra.pop("name", "fix the bug"),
        project_type="github",
        github_repo=extra.pop("github_repo", "acme/widgets"),
        **extra,
    )


def idle(session: Session) -> Session:
    session = services.transition_session(session=session, to=SessionStatus.RUNNING)
    return services.transition_session(session=session, to=SessionStatus.IDLE)


def live_config(response) -> dict:
    match = re.search(
        r'<script id="live-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the detail page carries the live client's configuration"
    return json.loads(match.group(1))


def field_block(body: str, field: str) -> str:
    """The HTML of one invalid form field, up to the next field."""
    start = body.find(f'<div class="field field-invalid" data-field="{field}">')
    assert start >= 0, f"{field} is marked invalid"
    end = body.find('<div class="field', start + 1)
    return body[start : end if end > 0 else len(body)]


def new_session_form(**overrides) -> dict:
    return {
        "name": "demo",
        "project_type": "github",
        "github_repo": "acme/widgets",
        "git_ref": "",
        "local_path": "",
        "initial_prompt": "Fix the failing test",
        "mode": "managed",
        **overrides,
    }


# --- logging in -------------------------------------------------------------------------


def test_every_page_requires_login(web, member):
    session = make_session(member)
    client = web(None)
    for url in [
        "/",
        "/sessions/",
        "/sessions/new/",
        f"/sessions/{session.pk}/",
        f"/sessions/{session.pk}/hook-config/",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url
    for url in [f"/sessions/{session.pk}/stop/", f"/sessions/{session.pk}/messages/"]:
        response = client.post(url, {"content": "hi"})
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get(f"/sessions/statuses/?id={session.pk}").status_code == 401
    assert Session.objects.get(pk=session.pk).status == SessionStatus.PREPARING
    assert session.messages.count() == 0


def test_login_page_logs_in_and_lands_on_the_session_list(member):
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content
    response = client.post("/login/", {"username": "member", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_keeps_the_page_asked_for(member):
    session = make_session(member)
    client = Client()
    response = client.post(
        "/login/",
        {"username": "member", "password": PASSWORD, "next": f"/sessions/{session.pk}/"},
    )
    assert response["Location"] == f"/sessions/{session.pk}/"


def test_wrong_password_is_shown_on_the_login_page(member):
    response = Client().post("/login/", {"username": "member", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_logout_is_a_post_and_ends_the_login(web, member):
    client = web(member)
    assert client.get("/").status_code == 200
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


# --- the session list -------------------------------------------------------------------


def test_list_shows_the_organizations_sessions_with_their_facts(web, member, owner, outsider):
    mine = make_session(member, name="mine")
    make_session(owner, name="colleague's", github_repo="acme/gadgets")
    make_session(outsider, name="secret plans")
    body = web(member).get("/").content.decode()
    assert "mine" in body and "colleague&#x27;s" in body
    assert "secret plans" not in body
    assert "acme/gadgets" in body
    assert "by member" in body and "by owner" in body
    assert f'data-session-id="{mine.pk}"' in body
    assert 'class="badge badge-preparing"' in body


def test_list_labels_sessions_on_the_scripted_model(web, member, settings):
    settings.SCRIPTED_MODEL = True
    make_session(member, name="scripted one")
    assert "scripted demo model" in web(member).get("/").content.decode()
    settings.SCRIPTED_MODEL = False
    Session.objects.all().delete()
    make_session(member, name="real one")
    assert "scripted demo model" not in web(member).get("/").content.decode()


def test_list_shows_last_activity(web, member):
    session = make_session(member)
    services.record_command(session=session, tool="Bash", input={"command": "ls"})
    Session.objects.filter(pk=session.pk).update(last_activity_at="2030-01-01T00:00:00Z")
    body = web(member).get("/").content.decode()
    assert 'datetime="2030-01-01T00:00:00+00:00"' in body


def test_list_filters_by_status_and_project_type(web, member, project_root):
    running = make_session(member, name="running-one")
    services.transition_session(session=running, to=SessionStatus.RUNNING)
    make_session(member, name="preparing-one")
    services.create_session(
        organization=member.organization,
        actor=member,
        name="local-one",
        project_type="local",
        local_path=str(project_root / "app"),
    )
    client = web(member)
    body = client.get("/?status=running").content.decode()
    assert "running-one" in body and "preparing-one" not in body and "local-one" not in body
    body = client.get("/?project_type=local").content.decode()
    assert "local-one" in body and "running-one" not in body
    body = client.get("/?status=stopped").content.decode()
    assert "No session matches these filters" in body
    # A filter value that is not a choice is ignored, not a 500; the other one still applies.
    response = client.get("/?status=bogus&project_type=local")
    assert response.status_code == 200
    assert "local-one" in response.content.decode()
    assert "running-one" not in response.content.decode()


def test_list_is_paginated(web, member):
    for number in range(views.SESSIONS_PER_PAGE + 2):
        make_session(member, name=f"session-{number:02d}")
    client = web(member)
    first = client.get("/").content.decode()
    assert "Page 1 of 2" in first
    second = client.get("/?page=2").content.decode()
    assert "session-00" in second and "session-00" not in first


def test_statuses_poll_answers_visible_sessions_only(web, member, outsider):
    mine = make_session(member)
    theirs = make_session(outsider)
    response = web(member).get(f"/sessions/statuses/?id={mine.pk}&id={theirs.pk}&id=nonsense")
    assert response.status_code == 200
    sessions = response.json()["sessions"]
    assert [s["id"] for s in sessions] == [str(mine.pk)]
    assert sessions[0]["status"] == "preparing"
    assert sessions[0]["status_label"] == "Preparing workspace"


def test_viewer_sees_no_new_session_button(web, viewer, member):
    make_session(member)
    body = web(viewer).get("/").content.decode()
    assert "/sessions/new/" not in body


# --- creating a session -----------------------------------------------------------------


def test_member_creates_a_session_and_lands_on_its_page(web, member):
    client = web(member)
    page = client.get("/sessions/new/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    with mock.patch.object(
        services, "create_session", wraps=services.create_session
    ) as create_session:
        response = client.post("/sessions/new/", new_session_form())
    session = Session.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/sessions/{session.pk}/"
    create_session.assert_called_once()
    assert create_session.call_args.kwargs["actor"] == member
    assert session.created_by == member and session.organization == member.organization
    assert session.github_repo == "acme/widgets" and session.mode == SessionMode.MANAGED
    assert list(session.messages.values_list("content", flat=True)) == ["Fix the failing test"]


def test_member_creates_an_attached_local_session(web, member, project_root):
    response = web(member).post(
        "/sessions/new/",
        new_session_form(
            project_type="local",
            local_path=str(project_root / "app"),
            # Left over in the hidden github field: ignored for a local session.
            github_repo="acme/widgets",
            mode="attached",
        ),
    )
    session = Session.objects.get()
    # The answer is the hook configuration with the new token: the one time it is shown.
    assert response.status_code == 200 and "data-token-shown" in response.content.decode()
    assert session.mode == SessionMode.ATTACHED and session.status == SessionStatus.PENDING
    assert session.local_path == str(project_root / "app") and session.github_repo == ""


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": ""}, "name", "This field is required."),
        ({"github_repo": "not a repo"}, "github_repo", "Give the repository as owner/name"),
        ({"github_repo": ""}, "github_repo", "Required for a github session."),
        ({"project_type": "svn"}, "project_type", "Select a valid choice."),
        ({"mode": "remote"}, "mode", "Select a valid choice."),
        (
            {"project_type": "local", "local_path": "/etc"},
            "local_path",
            "Local sessions are disabled",
        ),
    ],
)
def test_new_session_errors_are_shown_per_field_and_nothing_is_written(
    web, member, overrides, field, message
):
    response = web(member).post("/sessions/new/", new_session_form(**overrides))
    assert response.status_code == 400
    body = response.content.decode()
    assert message in field_block(body, field)
    assert Session.objects.count() == 0
    assert SessionMessage.objects.count() == 0


def test_local_path_outside_the_roots_is_a_field_error(web, member, project_root, tmp_path):
    response = web(member).post(
        "/sessions/new/",
        new_session_form(project_type="local", local_path=str(tmp_path)),
    )
    assert response.status_code == 400
    assert 'data-field="local_path"' in response.content.decode()
    assert Session.objects.count() == 0


def test_form_keeps_what_was_typed_after_an_error(web, member):
    response = web(member).post(
        "/sessions/new/", new_session_form(github_repo="bad repo", initial_prompt="Keep <me>")
    )
    body = response.content.decode()
    assert 'value="bad repo"' in body
    assert "Keep &lt;me&gt;" in body


def test_viewer_may_not_create_sessions(web, viewer):
    client = web(viewer)
    assert client.get("/sessions/new/").status_code == 403
    response = client.post("/sessions/new/", new_session_form())
    assert response.status_code == 403
    assert b"Viewers have read-only access." in response.content
    assert Session.objects.count() == 0


def test_superuser_without_organization_gets_a_form_error(web, superuser):
    response = web(superuser).post("/sessions/new/", new_session_form())
    assert response.status_code == 400
    assert b"Platform superusers belong to no organization" in response.content
    assert Session.objects.count() == 0


# --- the session page -------------------------------------------------------------------


def test_detail_renders_status_log_and_conversation(web, member):
    session = make_session(member, initial_prompt="Please run ls")
    services.record_command(
        session=session,
        tool="Bash",
        input={"command": "ls -la\necho done", "description": "List"},
        result="README.md\n",
        duration_ms=1250,
    )
    services.record_command(
        session=session,
        tool="Bash",
        input={"command": "false"},
        result="exit 1",
        is_error=True,
        duration_ms=12,
    )
    services.record_message(session=session, direction=Direction.ASSISTANT, content="All done.")
    response = web(member).get(f"/sessions/{session.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Preparing workspace" in body
    assert body.count('data-kind="log" data-seq="') == 2 + 1  # two rows and the template
    assert '<code class="log-summary" data-slot="summary">ls -la</code>' in body
    assert "1.3 s" in body and "12 ms" in body
    assert 'class="log-row log-error"' in body
    assert "<details>" in body and "README.md" in body
    assert "Please run ls" in body and "All done." in body
    config = live_config(response)
    assert config["lastSeq"] == 4 == session.last_seq
    assert config["sessionId"] == str(session.pk)
    assert config["wsPath"] == f"/ws/sessions/{session.pk}/"
    assert config["streamUrl"] == f"/api/sessions/{session.pk}/stream"
    assert config["eventsUrl"] == f"/api/sessions/{session.pk}/events/"


def test_tool_output_and_messages_are_escaped(web, member):
    session = make_session(member, name="<b>name</b>")
    evil = "<script>alert('x')</script>"
    services.record_command(
        session=session, tool=f"Bash{evil}", input={"command": evil}, result=evil
    )
    services.record_message(session=session, direction=Direction.ASSISTANT, content=evil)
    body = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert "&lt;b&gt;name&lt;/b&gt;" in body
    # The live configuration is JSON in a script tag: its "<" are escaped too.
    config_text = body.split('id="live-config"')[1].split("</script>")[0]
    assert "<b>" not in config_text


def test_detail_marks_the_scripted_model_and_the_mode(web, member, settings):
    settings.SCRIPTED_MODEL = True
    session = make_session(member)
    body = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert "scripted demo model" in body
    assert '<span class="tag">managed</span>' in body


def test_a_long_session_renders_up_to_a_gap_free_cursor(web, member, monkeypatch):
    monkeypatch.setattr(views, "INITIAL_EVENTS", 3)
    session = make_session(member, initial_prompt="go")  # seq 1: a message
    for number in range(5):  # seq 2..6: logs
        services.record_command(session=session, tool="Bash", input={"command": f"echo {number}"})
    services.record_message(session=session, direction=Direction.ASSISTANT, content="done")
    response = web(member).get(f"/sessions/{session.pk}/")
    body = response.content.decode()
    # Three logs fit (seq 2, 3, 4): the page stops there and the live client fetches the rest.
    assert live_config(response)["lastSeq"] == 4
    assert 'data-seq="5"' not in body and "done" not in body


def test_outsider_gets_404_for_another_organizations_session(web, member, outsider):
    session = make_session(member)
    client = web(outsider)
    for url in [f"/sessions/{session.pk}/", f"/sessions/{session.pk}/hook-config/"]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/sessions/{session.pk}/stop/").status_code == 404
    assert client.post(f"/sessions/{session.pk}/messages/", {"content": "x"}).status_code == 404
    assert Session.objects.get(pk=session.pk).status == SessionStatus.PREPARING
    assert session.messages.count() == 0


def test_unknown_session_is_404(web, member):
    client = web(member)
    assert client.get("/sessions/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/sessions/not-a-uuid/").status_code == 404


def test_viewer_watches_but_may_not_stop_or_follow_up(web, viewer, member):
    session = idle(make_session(member))
    client = web(viewer)
    page = client.get(f"/sessions/{session.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Stop session" not in body and "data-follow-up-form" not in body
    assert client.post(f"/sessions/{session.pk}/stop/").status_code == 403
    assert client.post(f"/sessions/{session.pk}/messages/", {"content": "x"}).status_code == 403
    assert client.get(f"/sessions/{session.pk}/hook-config/").status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.IDLE
    assert session.messages.count() == 0


def test_stop_calls_the_service(web, member):
    session = make_session(member)
    client = web(member)
    with mock.patch.object(services, "stop_session", wraps=services.stop_session) as stop:
        response = client.post(f"/sessions/{session.pk}/stop/")
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    stop.assert_called_once()
    assert stop.call_args.kwargs["actor"] == member
    session.refresh_from_db()
    assert session.status == SessionStatus.STOPPED
    assert "Session stopped." in client.get(response["Location"]).content.decode()


def test_stop_keeps_the_reason_given(web, member):
    session = make_session(member)
    response = web(member).post(f"/sessions/{session.pk}/stop/", {"reason": "  wrong repo "})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.STOPPED
    assert session.status_reason == "wrong repo"
    audit = AuditEvent.objects.get(action=AuditAction.SESSION_STOPPED)
    assert audit.details == {"reason": "wrong repo"}


def test_a_stop_reason_too_long_is_a_400_that_stops_nothing(web, member):
    session = make_session(member)
    response = web(member).post(f"/sessions/{session.pk}/stop/", {"reason": "x" * 1001})
    assert response.status_code == 400
    body = response.content.decode()
    assert "at most 1000 characters (it has 1001)" in body
    # The dialog comes back open on the error, with what was typed.
    assert re.search(r'<dialog id="stop-dialog"[^>]* open data-open-modal>', body)
    assert "x" * 1001 + "</textarea>" in body
    session.refresh_from_db()
    assert session.status == SessionStatus.PREPARING
    assert not AuditEvent.objects.filter(action=AuditAction.SESSION_STOPPED).exists()


def test_the_stop_button_opens_a_confirmation_dialog(web, member):
    session = make_session(member)
    body = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert 'commandfor="stop-dialog" command="show-modal">Stop session…</button>' in body
    dialog = body[body.index('<dialog id="stop-dialog"') : body.index("</dialog>")]
    assert f'action="/sessions/{session.pk}/stop/"' in dialog
    assert 'name="reason"' in dialog and 'maxlength="1000"' in dialog


def test_the_follow_up_banner_is_marked_to_clear_when_its_turn_ends(web, member):
    session = idle(make_session(member))
    client = web(member)
    page = client.post(f"/sessions/{session.pk}/messages/", {"content": "next"}, follow=True)
    assert re.search(
        r'<li class="flash flash-success" role="status" data-clears-when="turn-ends">'
        r"Message sent; the session is running again.</li>",
        page.content.decode(),
    )


def test_stopping_an_ended_session_shows_why(web, member):
    session = make_session(member)
    services.stop_session(session=session, actor=member)
    client = web(member)
    response = client.post(f"/sessions/{session.pk}/stop/", follow=True)
    assert response.status_code == 200
    assert "The session already ended (stopped)." in response.content.decode()


def test_follow_up_calls_the_service(web, member):
    session = idle(make_session(member))
    client = web(member)
    with mock.patch.object(services, "send_message", wraps=services.send_message) as send:
        response = client.post(f"/sessions/{session.pk}/messages/", {"content": "  next step "})
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    send.assert_called_once()
    assert send.call_args.kwargs["content"] == "next step"
    session.refresh_from_db()
    assert session.status == SessionStatus.RUNNING
    assert list(session.messages.values_list("content", flat=True)) == ["next step"]


def test_follow_up_while_running_is_shown_as_a_message(web, member):
    session = make_session(member)  # preparing: the first turn has not finished
    response = web(member).post(f"/sessions/{session.pk}/messages/", {"content": "hurry <up>"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "The session is preparing; wait for the current turn to finish." in body
    assert "hurry &lt;up&gt;</textarea>" in body  # what was typed is kept
    assert session.messages.count() == 0


def test_follow_up_to_an_attached_session_is_refused_with_a_message(web, member):
    session = make_session(member, mode=SessionMode.ATTACHED)
    response = web(member).post(f"/sessions/{session.pk}/messages/", {"content": "hi"})
    assert response.status_code == 409
    assert "send it messages there" in response.content.decode()


def test_empty_follow_up_is_a_field_error(web, member):
    session = idle(make_session(member))
    response = web(member).post(f"/sessions/{session.pk}/messages/", {"content": "   "})
    assert response.status_code == 400
    assert 'data-field="content"' in response.content.decode()
    assert "This field is required." in response.content.decode()
    assert session.messages.count() == 0


def test_follow_up_box_is_disabled_while_a_turn_runs(web, member):
    session = make_session(member)
    body = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert "data-follow-up-submit disabled" in body
    idle(session)
    body = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert "data-follow-up-submit disabled" not in body


def test_attached_session_links_its_hook_configuration(web, member):
    session = make_session(member, mode=SessionMode.ATTACHED)
    client = web(member)
    body = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f"/sessions/{session.pk}/hook-config/" in body
    page = client.get(f"/sessions/{session.pk}/hook-config/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "http://testserver/api/hooks/" in text
    assert "&lt;hook token&gt;" in text and session.new_hook_token not in text
    assert "claude-orchestrator-hook" in text


def test_a_new_token_is_shown_once_on_the_hook_configuration_page(web, member):
    session = make_session(member, mode=SessionMode.ATTACHED)
    page = web(member).post(f"/sessions/{session.pk}/hook-config/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "data-token-shown" in text and session.pk.hex in text
    session.refresh_from_db()
    token = text.split("Bearer ")[1].split("&quot;")[0]
    assert hook_tokens.matches(token, session.hook_token_hash)


def test_creating_an_attached_session_shows_its_token_once(web, member):
    page = web(member).post(
        "/sessions/new/",
        {"name": "mine", "mode": "attached", "project_type": "github", "github_repo": "a/b"},
    )
    assert page.status_code == 200 and "data-token-shown" in page.content.decode()


def test_managed_session_has_no_hook_configuration_link(web, member):
    session = make_session(member)
    body = web(member).get(f"/sessions/{session.pk}/").content.decode()
    assert "/hook-config/" not in body


def test_forms_are_csrf_protected(member):
    session = idle(make_session(member))
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert page.count("csrfmiddlewaretoken") >= 3  # stop, follow-up, log out
    assert client.post(f"/sessions/{session.pk}/stop/").status_code == 403
    assert client.post(f"/sessions/{session.pk}/messages/", {"content": "x"}).status_code == 403
    assert client.post("/sessions/new/", new_session_form()).status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.IDLE
    assert Session.objects.count() == 1


def test_input_summary_prefers_the_telling_field():
    def summary(tool_input):
        return views.input_summary(tool_input, tool="Other", workspace="")

    assert summary({"description": "d", "command": "ls\npwd"}) == "ls"
    assert summary({"file_path": "a.py", "content": "x"}) == "a.py"
    assert summary({"other": 1}) == '{"other": 1}'
    assert summary({"command": "x" * 500}).endswith("…")
    assert len(summary({"command": "x" * 500})) == views.SUMMARY_CHARS
