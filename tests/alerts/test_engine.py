"""The engine's semantics, Alertmanager's: one alert per rule and subject, grouping, a
repeat interval (the throttle) while firing, a resolved notice when it clears, silences, and
the fallback channel for what no channel delivered. Driven tick by tick with a moved clock;
Slack is a local server reached through the real slack-sdk client."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts import engine, services
from alerts.choices import AlertStatus, DeliveryStatus
from alerts.models import Alert, Channel, Delivery, Notification
from tests.alerts.conftest import failed_session, rule_of, slack_channel, webhook_channel
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


def test_a_failed_session_fires_one_alert_and_a_resolved_notice_when_it_clears(
    owner, slack, clock, tick
):
    rule = rule_of(owner, "session_failed", [slack_channel(owner)], params={"minutes": 30})
    failed_session(owner, name="doomed")
    tick()
    alert = Alert.objects.get()
    assert (alert.rule, alert.status, alert.notified_status) == (rule, "firing", "firing")
    assert len(slack.received) == 1
    message = slack.received[0].json
    assert message["channel"] == "#ops" and "1 firing" in message["text"]
    assert [b["type"] for b in message["blocks"]][:2] == ["header", "section"]
    assert "https://orchestrator.example.com/org/alerts/" in json_text(message["blocks"])

    clock.advance(minutes=5)
    tick()  # still true: the same alert, no new notice within the throttle
    assert Alert.objects.count() == 1 and len(slack.received) == 1

    clock.advance(minutes=30)
    tick()  # the failure left the window: resolved, and said so
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at == clock.now
    assert len(slack.received) == 2 and "1 resolved" in slack.received[1].json["text"]


def json_text(blocks) -> str:
    return json.dumps(blocks)


def test_alerts_of_one_rule_fired_within_the_group_wait_go_out_as_one_notification(
    owner, slack, clock, tick, settings
):
    settings.ALERT_GROUP_WAIT_SECONDS = 30
    rule_of(owner, "session_failed", [slack_channel(owner)])
    failed_session(owner, name="first")
    tick()
    assert slack.received == []  # the group is gathering
    clock.advance(seconds=10)
    failed_session(owner, name="second")
    tick()
    assert slack.received == []
    clock.advance(seconds=25)
    tick()
    assert len(slack.received) == 1
    assert "2 firing" in slack.received[0].json["text"]
    assert Notification.objects.get().alerts.count() == 2


def test_a_firing_alert_is_repeated_after_the_throttle_and_not_before(owner, slack, clock, tick):
    rule_of(
        owner,
        "high_session_count",
        [slack_channel(owner)],
        params={"max_active": 0},
        throttle_minutes=60,
    )
    failed_session(owner)  # ended: not active
    new_session(owner, name="active", mode="attached")
    for _ in range(5):
        tick()
        clock.advance(minutes=10)
    assert len(slack.received) == 1
    clock.advance(minutes=15)  # 65 minutes after the first notice
    tick()
    assert len(slack.received) == 2
    assert Alert.objects.count() == 1


def test_a_silence_mutes_matching_alerts_until_it_expires(owner, slack, clock, tick):
    rule = rule_of(owner, "session_failed", [slack_channel(owner)], params={"minutes": 600})
    silence = services.create_silence(
        actor=owner,
        organization=owner.organization,
        rule=rule,
        ends_at=clock.now + timedelta(hours=1),
        reason="known incident",
        starts_at=clock.now - timedelta(minutes=1),
    )
    failed_session(owner)
    tick()
    alert = Alert.objects.get()
    assert slack.received == [] and alert.silenced_by == silence
    clock.advance(minutes=61)  # the silence ended: the still-firing alert is told now
    tick()
    assert len(slack.received) == 1
    alert.refresh_from_db()
    assert alert.silenced_by is None


def test_expiring_a_silence_lets_its_alerts_through_at_once(owner, slack, clock, tick):
    rule = rule_of(owner, "session_failed", [slack_channel(owner)])
    silence = services.create_silence(
        actor=owner,
        organization=owner.organization,
        subject="",
        rule=rule,
        starts_at=clock.now,
        ends_at=clock.now + timedelta(days=1),
        reason="deploying",
    )
    failed_session(owner)
    tick()
    assert slack.received == []
    services.expire_silence(silence=silence, actor=owner)
    clock.advance(seconds=1)
    tick()
    assert len(slack.received) == 1


def test_the_fallback_channel_receives_what_no_channel_could_deliver(
    owner, slack, webhook, clock, tick
):
    broken = webhook_channel(owner, f"{webhook.url}/hook", name="broken")
    fallback = slack_channel(owner, name="fallback", is_fallback=True)
    webhook.answer = lambda request: (410, {"error": "gone"})  # permanently gone
    rule_of(owner, "session_failed", [broken])
    failed_session(owner)
    tick()
    broken.refresh_from_db()
    assert not broken.enabled and "HTTP 410" in broken.disabled_reason
    tick()  # the fallback delivery is due now
    deliveries = {d.channel_id: d for d in Delivery.objects.all()}
    assert deliveries[broken.pk].status == DeliveryStatus.FAILED
    assert deliveries[fallback.pk].status == DeliveryStatus.SENT
    assert deliveries[fallback.pk].is_fallback
    assert len(slack.received) == 1


def test_the_platform_fallback_takes_over_when_the_organization_has_none(
    owner, superuser, slack, clock, tick
):
    services.create_channel(
        actor=superuser,
        organization=None,
        kind="slack",
        name="platform pager",
        config={"channel": "#platform", "token": "xoxb-test-token"},
        is_fallback=True,
    )
    rule_of(owner, "session_failed", [])  # no channel at all
    failed_session(owner)
    tick()
    tick()
    assert [r.json["channel"] for r in slack.received] == ["#platform"]
    assert Delivery.objects.get().is_fallback


def test_a_channel_down_for_a_while_gets_every_notification_exactly_once(owner, slack, clock, tick):
    rule_of(owner, "session_failed", [slack_channel(owner)], params={"minutes": 30})
    slack.down = True
    failed_session(owner, name="one")
    tick()
    failed_session(owner, name="two")  # a second group while the channel is still down
    clock.advance(minutes=1)
    tick()
    for _ in range(6):
        clock.advance(minutes=3)
        tick()
    slack.down = False
    for _ in range(20):  # back: retries go through; the failures leave the window meanwhile
        clock.advance(minutes=5)
        tick()
    texts = sorted(r.json["text"] for r in slack.received)
    # Each of the three notifications (two firing groups, then both resolved) exactly once.
    assert texts == [
        "[1 firing] session_failed",
        "[1 firing] session_failed",
        "[2 resolved] session_failed",
    ]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 3
    assert Delivery.objects.exclude(status=DeliveryStatus.SENT).count() == 0
    assert Delivery.objects.filter(attempts__gt=1).count() == 2  # the two sent while down
    assert Channel.objects.get().enabled


def test_the_throttle_holds_across_two_workers_and_a_restart(owner, slack, clock):
    """Two workers' ticks, each a fresh engine (nothing kept in memory between ticks, as
    after a restart): the state in the database decides, and it announces once."""
    rule_of(owner, "session_failed", [slack_channel(owner)], throttle_minutes=30)
    failed_session(owner)
    for _ in range(4):
        engine.tick(now=clock.now)  # worker A
        engine.tick(now=clock.now)  # worker B, same minute
        clock.advance(minutes=5)
    assert len(slack.received) == 1
