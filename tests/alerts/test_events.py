"""The event-driven path: a session failing alerts within seconds through the core's
`session_status_changed` signal (no periodic job involved), and hook posts are counted for
`hook_delivery_failing`, spooled replays of the real hook client included."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from alerts.choices import AlertStatus
from alerts.models import Alert
from sessions import services as session_services
from sessions.choices import SessionMode
from sessions.hooks import stats as hook_stats
from sessions.hooks.intake import receive_hook
from tests.alerts.conftest import failed_session, rule_of, slack_channel
from tests.conftest import new_session
from tests.sessions.conftest import wait_for


@pytest.mark.django_db(transaction=True)
def test_a_failing_session_reaches_slack_within_seconds_without_the_periodic_job(
    owner, slack, settings
):
    settings.ALERT_DISPATCH = "thread"  # the embedded background: a timer thread
    rule_of(owner, "session_failed", [slack_channel(owner)])
    session = failed_session(owner, name="crashed", reason="API error 529")
    alert = Alert.objects.get()
    assert (alert.subject, alert.status) == (f"session:{session.pk}", AlertStatus.FIRING)
    wait_for(lambda: slack.received, timeout=30)
    assert "crashed" in json.dumps(slack.received[0].json["blocks"])


@pytest.mark.django_db
def test_other_status_changes_raise_nothing(owner, django_capture_on_commit_callbacks):
    rule_of(owner, "session_failed")
    session = new_session(owner, mode=SessionMode.ATTACHED)
    with django_capture_on_commit_callbacks(execute=True):
        session_services.stop_session(session=session, actor=owner)
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_hook_posts_are_counted_per_organization_by_outcome(owner):
    session = new_session(owner, mode=SessionMode.ATTACHED)
    token = session_services.rotate_hook_token(session=session, actor=owner)
    event = b'{"hook_event_name": "Notification", "message": "hi"}'
    assert receive_hook(authorization=f"Bearer {token}", body=event).status == 200
    assert receive_hook(authorization=f"Bearer {token}", body=b"[1]").status == 400
    replay = receive_hook(authorization=f"Bearer {token}", body=event, replayed=True)
    assert replay.status == 200
    assert receive_hook(authorization="Bearer nobody.s", body=event).status == 401  # no org
    counts = hook_stats.outcomes(owner.organization_id, 5)
    assert counts == {"accepted": 1, "refused": 1, "failed": 0, "replayed": 1}


def test_the_hook_client_marks_its_spooled_replays(serve, tmp_path):
    """The real hook client against a stand-in server that is down, then back: the spooled
    event is sent again with X-Hook-Replay: 1, the new one without."""
    server = serve(lambda request: (200, {"ok": True}))
    server.down = True
    spool = tmp_path / "spool"

    def hook(message: str) -> None:
        event = json.dumps({"hook_event_name": "Notification", "message": message})
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sessions.hooks.client",
                "--url",
                server.url,
                "--token",
                "t.k",
                "--spool-dir",
                str(spool),
                "--timeout",
                "5",
            ],
            input=event,
            text=True,
            capture_output=True,
            check=True,
            timeout=60,
        )

    hook("while down")
    server.down = False
    hook("once back")
    sent = [(r.json["message"], r.headers.get("X-Hook-Replay")) for r in server.received]
    assert sent == [("while down", "1"), ("once back", None)]


@pytest.mark.django_db
def test_the_hook_endpoint_counts_a_post_marked_as_replay(owner, api):
    session = new_session(owner, mode=SessionMode.ATTACHED)
    token = session_services.rotate_hook_token(session=session, actor=owner)
    answer = api(None).post(
        "/api/hooks/",
        {"hook_event_name": "Notification", "message": "late"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_HOOK_REPLAY="1",
    )
    assert answer.status_code == 200
    assert hook_stats.outcomes(owner.organization_id, 1)["replayed"] == 1
