"""/org/alerts/ in the dashboard: an organization admin reads the history and manages rules,
channels and silences there; members get a 403, platform superusers a pointer to the console."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from alerts.models import Channel, Rule, Silence
from tests.alerts.conftest import failed_session, rule_of, slack_channel

pytestmark = pytest.mark.django_db


def test_the_page_lists_alerts_with_their_deliveries(web, owner, slack, tick):
    rule_of(owner, "session_failed", [slack_channel(owner)])
    failed_session(owner, name="broken build")
    tick()
    page = web(owner).get("/org/alerts/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "broken build" in html and 'data-delivery-status="sent"' in html
    assert "broken build" not in web(owner).get("/org/alerts/?status=resolved").content.decode()


def test_members_get_a_403_and_superusers_the_console(web, member, superuser):
    assert web(member).get("/org/alerts/").status_code == 403
    assert web(member).post("/org/alerts/rules/", {}).status_code == 403
    answer = web(superuser).get("/org/alerts/")
    assert answer.status_code == 200 and "console" in answer.content.decode().lower()


def test_an_admin_creates_a_channel_a_rule_and_a_silence_from_the_page(web, owner, slack):
    client = web(owner)
    answer = client.post(
        "/org/alerts/channels/",
        {
            "kind": "slack",
            "name": "ops",
            "config": json.dumps({"channel": "#ops", "token": "xoxb-test-token"}),
        },
    )
    assert answer.status_code == 302
    channel = Channel.objects.get()
    answer = client.post(
        "/org/alerts/rules/",
        {
            "name": "failures",
            "kind": "session_failed",
            "params": '{"minutes": 20}',
            "severity": "critical",
            "throttle_minutes": 15,
            "channels": [str(channel.pk)],
        },
    )
    assert answer.status_code == 302
    rule = Rule.objects.get()
    assert rule.params == {"minutes": 20} and list(rule.channels.all()) == [channel]
    answer = client.post(
        "/org/alerts/silences/", {"rule": str(rule.pk), "hours": 2, "reason": "deploy"}
    )
    assert answer.status_code == 302
    silence = Silence.objects.get()
    assert client.post(f"/org/alerts/silences/{silence.pk}/expire/").status_code == 302
    silence.refresh_from_db()
    assert silence.ends_at <= timezone.now()
    assert client.post(f"/org/alerts/channels/{channel.pk}/test/").status_code == 302
    assert len(slack.received) == 1
    assert client.post(f"/org/alerts/rules/{rule.pk}/toggle/").status_code == 302
    rule.refresh_from_db()
    assert not rule.enabled


def test_a_bad_form_is_shown_again_with_the_services_reason(web, owner):
    answer = web(owner).post(
        "/org/alerts/rules/",
        {
            "name": "r",
            "kind": "session_failed",
            "params": '{"minutes": -1}',
            "severity": "info",
            "throttle_minutes": 5,
        },
    )
    assert answer.status_code == 400
    assert "params.minutes" in answer.content.decode()
    assert not Rule.objects.exists()
