"""The operations console renders every page, and the OpenAPI schema is valid."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from sessions import services
from sessions.choices import Direction, SessionStatus
from sessions.models import Session
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def populated(member):
    session = new_session(member, name="s", initial_prompt="go")
    services.record_command(session=session, tool="Bash", input={"command": "ls"}, result="x")
    services.record_message(session=session, direction=Direction.ASSISTANT, content="done")
    return session


def test_every_changelist_and_change_page_renders(console, populated):
    for model in site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert console.get(changelist).status_code == 200, changelist
        assert console.get(changelist, {"q": "x"}).status_code == 200, changelist
        obj = model._default_manager.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert console.get(change).status_code == 200, change


def test_session_page_shows_messages_and_logs_inline(console, populated):
    page = console.get(reverse("admin:agent_sessions_session_change", args=[populated.pk]))
    assert b"echo" not in page.content  # only what was recorded shows
    assert b"Bash" in page.content and b"done" in page.content


def test_stop_action_uses_the_stop_service(console, populated):
    response = console.post(
        reverse("admin:agent_sessions_session_changelist"),
        {"action": "stop_sessions", "_selected_action": [str(populated.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    populated.refresh_from_db()
    assert populated.status == SessionStatus.STOPPED
    assert populated.ended_at is not None


def test_openapi_schema_validates(api, member):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert "/api/sessions/{id}/logs/" in schema["paths"]
    response = api(member).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200


def test_docs_page_renders(api, member):
    assert api(member).get("/api/docs/").status_code == 200


def test_console_labels_scripted_sessions_and_edits_through_the_service(console, member):
    session = new_session(member, name="s")
    Session.objects.filter(pk=session.pk).update(scripted_model=True)
    changelist = console.get(reverse("admin:agent_sessions_session_changelist"))
    assert b"scripted demo model" in changelist.content
    url = reverse("admin:agent_sessions_session_change", args=[session.pk])
    response = console.post(url, {"name": "renamed", "metadata": '{"k": 1}', **EMPTY_INLINES})
    assert response.status_code == 302, response.content[:2000]
    session.refresh_from_db()
    assert (session.name, session.metadata) == ("renamed", {"k": 1})


EMPTY_INLINES = {
    f"{prefix}-{key}": value
    for prefix in ("messages", "logs")
    for key, value in (
        ("TOTAL_FORMS", "0"),
        ("INITIAL_FORMS", "0"),
        ("MIN_NUM_FORMS", "0"),
        ("MAX_NUM_FORMS", "1000"),
    )
}


def test_session_page_shows_the_workspace_size(console, populated, tmp_path):
    (tmp_path / "big.bin").write_bytes(b"x" * 3 * 1024 * 1024)
    Session.objects.filter(pk=populated.pk).update(project_path=str(tmp_path))
    page = console.get(reverse("admin:agent_sessions_session_change", args=[populated.pk]))
    assert "3.0\xa0MB" in page.content.decode()
