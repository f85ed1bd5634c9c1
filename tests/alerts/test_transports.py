"""Each transport against a local stand-in reached through the production path: Slack via
slack-sdk's WebClient at SLACK_API_URL, PagerDuty's Events API v2 at PAGERDUTY_EVENTS_URL,
mail through Django's SMTP backend to aiosmtpd, and a webhook whose HMAC-SHA256 signature the
receiver can check."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from alerts import engine, services
from alerts.choices import DeliveryStatus
from alerts.models import Channel, Delivery
from alerts.transports import SIGNATURE_HEADER
from tests.alerts.conftest import failed_session, rule_of, slack_channel, webhook_channel

pytestmark = pytest.mark.django_db


def pagerduty_channel(owner, key: str = "R0UTINGKEY-test") -> Channel:
    return services.create_channel(
        actor=owner,
        organization=owner.organization,
        kind="pagerduty",
        name="pager",
        config={"routing_key": key},
    )


def test_pagerduty_triggers_and_resolves_with_the_alerts_fingerprint_as_dedup_key(
    owner, pagerduty, clock, tick
):
    rule_of(
        owner,
        "session_failed",
        [pagerduty_channel(owner)],
        severity="critical",
        params={"minutes": 5},
    )
    failed_session(owner)
    tick()
    clock.advance(minutes=6)
    tick()
    events = [r.json for r in pagerduty.received]
    assert [e["event_action"] for e in events] == ["trigger", "resolve"]
    assert (
        events[0]["dedup_key"]
        == events[1]["dedup_key"]
        == Delivery.objects.first().notification.alerts.get().fingerprint
    )
    assert events[0]["payload"]["severity"] == "critical"
    assert events[0]["payload"]["source"] == "acme"
    assert pagerduty.received[0].path == "/v2/enqueue"


def test_a_pagerduty_retry_is_absorbed_by_the_dedup_key(owner, pagerduty, clock, tick):
    """PagerDuty down for one attempt: the retry sends the same dedup_key, so however many
    times an event arrives it is one incident."""
    rule_of(owner, "session_failed", [pagerduty_channel(owner)])
    pagerduty.down = True
    failed_session(owner)
    tick()
    pagerduty.down = False
    clock.advance(minutes=2)
    tick()
    keys = {r.json["dedup_key"] for r in pagerduty.received}
    assert len(keys) == 1 and Delivery.objects.get().status == DeliveryStatus.SENT


def test_an_unknown_routing_key_disables_the_channel_and_says_why(owner, pagerduty, tick):
    channel = pagerduty_channel(owner, key="wrong-key-000")
    rule_of(owner, "session_failed", [channel])
    failed_session(owner)
    tick()
    channel.refresh_from_db()
    assert not channel.enabled
    assert "HTTP 400" in channel.disabled_reason and "invalid" in channel.disabled_reason


def test_email_goes_through_the_smtp_server(owner, smtp, tick):
    channel = services.create_channel(
        actor=owner,
        organization=owner.organization,
        kind="email",
        name="oncall mail",
        config={"to": ["oncall@example.com"]},
    )
    rule_of(owner, "session_failed", [channel])
    failed_session(owner, name="nightly build")
    tick()
    [message] = smtp.messages
    assert message["To"] == "oncall@example.com"
    assert message["Subject"] == "[1 firing] session_failed"
    assert "nightly build" in message.get_payload()
    assert message["X-Alert-Delivery"] == str(Delivery.objects.get().pk)


def test_a_webhook_is_signed_with_hmac_sha256_of_the_raw_body(owner, webhook, tick):
    rule_of(owner, "session_failed", [webhook_channel(owner, f"{webhook.url}/in")])
    failed_session(owner)
    tick()
    [request] = webhook.received
    expected = hmac.new(b"webhook-secret-123", request.raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER], f"sha256={expected}")
    assert request.headers["X-Alert-Delivery"] == str(Delivery.objects.get().pk)
    assert request.json["event"] == "firing" and request.json["organization"] == "acme"


def test_a_webhook_to_a_private_address_is_refused(owner, settings):
    settings.ALERT_WEBHOOK_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(Exception, match="loopback"):
        webhook_channel(owner, "http://127.0.0.1:9/in")
    with pytest.raises(Exception, match="link-local"):
        webhook_channel(owner, "http://169.254.169.254/latest/meta-data")
    assert not Channel.objects.exists()


def test_a_revoked_slack_token_disables_the_channel(owner, slack, tick):
    channel = slack_channel(owner, token="xoxb-revoked-token")
    rule_of(owner, "session_failed", [channel])
    failed_session(owner)
    tick()
    channel.refresh_from_db()
    assert not channel.enabled and "invalid_auth" in channel.disabled_reason


def test_send_test_reaches_the_channel_and_changes_nothing_else(owner, slack):
    channel = slack_channel(owner)
    delivery = services.queue_test(channel=channel, actor=owner)
    assert engine.send(delivery.pk)
    [request] = slack.received
    assert request.json["text"].startswith("Test notification")
    channel.refresh_from_db()
    assert channel.enabled and channel.last_notified_at is not None


def test_secrets_are_stored_encrypted(owner):
    channel = slack_channel(owner)
    assert channel.secret_encrypted and "xoxb-test-token" not in channel.secret_encrypted
    assert "token" not in channel.config
