"""`GET /api/sessions/<uuid>/events/`: the adaptive-poll fallback. Logs and messages merged
in seq order; an idle poll costs one query, or answers 304 to a matching ETag."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sessions import services
from sessions.choices import Direction, SessionMode
from sessions.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(member) -> Session:
    """Seq 1 message, 2 log, 3 message, 4 log."""
    session = services.create_session(
        organization=member.organization,
        actor=member,
        name="polled",
        project_type="github",
        github_repo="acme/widgets",
        mode=SessionMode.ATTACHED,
        initial_prompt="list the files",
    )
    services.record_command(session=session, tool="Bash", input={"command": "ls"}, result="a")
    services.record_message(session=session, direction=Direction.ASSISTANT, content="one file")
    services.record_command(session=session, tool="Read", input={"file_path": "a"}, result="x")
    return session


def url(session: Session, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/sessions/{session.pk}/events/" + (f"?{query}" if query else "")


def logged_in(user) -> APIClient:
    # force_authenticate: no token lookup, so only the view's own queries are counted.
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_logs_and_messages_come_merged_in_seq_order(api, viewer, session):
    body = api(viewer).get(url(session)).json()
    assert [(e["seq"], e["kind"]) for e in body["results"]] == [
        (1, "message"),
        (2, "log"),
        (3, "message"),
        (4, "log"),
    ]
    assert body["results"][1]["tool"] == "Bash" and body["results"][2]["content"] == "one file"
    assert body | {"results": None} == {
        "results": None,
        "next_after": 4,
        "has_more": False,
        "status": session.status,
        "last_seq": 4,
    }


def test_pages_follow_the_cursor(api, member, session):
    client = api(member)
    first = client.get(url(session, after=0, limit=3)).json()
    assert [e["seq"] for e in first["results"]] == [1, 2, 3]
    assert first["has_more"] and first["next_after"] == 3
    second = client.get(url(session, after=first["next_after"], limit=3)).json()
    assert [e["seq"] for e in second["results"]] == [4]
    assert not second["has_more"] and second["next_after"] == 4


def test_idle_poll_is_answered_with_the_session_fetch_alone(
    member, session, django_assert_num_queries
):
    client = logged_in(member)
    with django_assert_num_queries(1):
        response = client.get(url(session, after=4))
    assert response.status_code == 200
    assert response.json() == {
        "results": [],
        "next_after": 4,
        "has_more": False,
        "status": session.status,
        "last_seq": 4,
    }


def test_matching_etag_is_answered_304_until_something_happens(member, session):
    client = logged_in(member)
    first = client.get(url(session, after=4))
    etag = first.headers["ETag"]
    assert etag == f'"4-{session.status}"'

    unchanged = client.get(url(session, after=4), HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == etag

    services.record_command(session=session, tool="Bash", input={"command": "pwd"})
    changed = client.get(url(session, after=4), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert [e["seq"] for e in changed.json()["results"]] == [5]
    assert changed.headers["ETag"] == f'"5-{session.status}"'


def test_a_status_change_changes_the_etag(member, session):
    client = logged_in(member)
    etag = client.get(url(session)).headers["ETag"]
    services.stop_session(session=session, actor=member, reason="done")
    response = client.get(url(session), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["status"] == "stopped"


def test_outsider_gets_404_and_anonymous_401(api, outsider, session):
    assert api(outsider).get(url(session)).status_code == 404
    assert api(None).get(url(session)).status_code == 401


@pytest.mark.parametrize("params", [{"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 501}])
def test_bad_cursor_is_a_400(api, member, session, params):
    assert api(member).get(url(session, **params)).status_code == 400
