"""Auto-close: a session whose settings say autoClose (its template's) takes no follow-up,
in any status, with a clear 409; and nobody turns the setting off afterwards."""

from __future__ import annotations

import pytest

from sessions import services as session_services
from sessions.choices import SessionStatus
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_turns(monkeypatch):
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)


@pytest.fixture
def finished(member):
    """An auto-close session whose one turn completed."""
    session = new_session(member, initial_prompt="Review", metadata={"autoClose": True})
    for status in (SessionStatus.RUNNING, SessionStatus.COMPLETED):
        session = session_services.transition_session(session=session, to=status)
    return session


def test_a_follow_up_is_refused_with_a_409(api, member, finished):
    answer = api(member).post(
        f"/api/sessions/{finished.pk}/messages/", {"content": "and now this"}, format="json"
    )
    assert answer.status_code == 409
    assert answer.json()["detail"] == session_services.AUTO_CLOSE_REFUSAL
    finished.refresh_from_db()
    assert finished.status == SessionStatus.COMPLETED
    assert finished.messages.filter(content="and now this").count() == 0


def test_the_dashboard_refuses_it_too_and_says_why(web, member, finished):
    client = web(member)
    page = client.get(f"/sessions/{finished.pk}/").content.decode()
    assert "closes after its first turn" in page
    assert "data-follow-up-submit disabled" in page
    answer = client.post(f"/sessions/{finished.pk}/messages/", {"content": "more"})
    assert answer.status_code == 409


def test_patch_cannot_turn_auto_close_off(api, member, owner, finished):
    for user in (member, owner):
        answer = api(user).patch(
            f"/api/sessions/{finished.pk}/", {"metadata": {"maxTurns": 3}}, format="json"
        )
        assert answer.status_code == 400 and "autoClose" in answer.json()["metadata"][0]
    kept = api(member).patch(
        f"/api/sessions/{finished.pk}/",
        {"metadata": {"autoClose": True, "maxTurns": 3}},
        format="json",
    )
    assert kept.status_code == 200


def test_auto_close_is_true_or_false(api, member):
    answer = api(member).post(
        "/api/sessions/",
        {
            "name": "x",
            "project_type": "github",
            "github_repo": "acme/widgets",
            "metadata": {"autoClose": "yes"},
        },
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json() == {"metadata": ["autoClose must be true or false."]}
