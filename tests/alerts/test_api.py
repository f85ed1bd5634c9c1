"""The alerting API: organization admins manage their organization's channels, rules and
silences; superusers the platform's; members, viewers and outsiders get 403 or 404. Secrets
are write-only, bad input is a 400 naming the field and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.choices import AlertAuditAction
from alerts.models import Channel, Rule, Silence
from tenants.models import AuditEvent
from tests.alerts.conftest import failed_session, rule_of, slack_channel

pytestmark = pytest.mark.django_db

SLACK = {"kind": "slack", "name": "ops", "config": {"channel": "#ops", "token": "xoxb-test-token"}}


def test_an_admin_creates_a_slack_channel_whose_token_is_never_answered(api, owner):
    answer = api(owner).post("/api/alerts/channels/", SLACK, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["config"] == {"channel": "#ops"} and body["has_secret"] is True
    assert body["organization"] == "acme"
    listed = api(owner).get("/api/alerts/channels/").json()["results"]
    assert "xoxb-test-token" not in str(listed)
    assert AuditEvent.objects.filter(action=AlertAuditAction.CHANNEL_CREATED).count() == 1


def test_a_patch_without_the_secret_keeps_it(api, owner, slack):
    channel = slack_channel(owner)
    answer = api(owner).patch(
        f"/api/alerts/channels/{channel.pk}/", {"config": {"channel": "#other"}}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    channel.refresh_from_db()
    assert channel.config == {"channel": "#other"} and channel.has_secret
    test = api(owner).post(f"/api/alerts/channels/{channel.pk}/test/")
    assert test.status_code == 200 and test.json()["status"] == "sent"
    assert slack.received[0].json["channel"] == "#other"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SLACK, "config": {"channel": "#ops"}}, "config"),  # no token
        ({**SLACK, "config": {"channel": "#ops", "token": "x" * 9, "extra": 1}}, "config"),
        ({**SLACK, "kind": "carrier-pigeon"}, "kind"),
        ({"kind": "email", "name": "m", "config": {"to": ["not-an-address"]}}, "config"),
        (
            {"kind": "webhook", "name": "w", "config": {"url": "ftp://x", "secret": "s" * 16}},
            "config",
        ),
        ({**SLACK, "name": ""}, "name"),
        ({**SLACK, "unexpected": True}, "unexpected"),
        ({**SLACK, "organization": "globex"}, "organization"),
    ],
)
def test_bad_channel_input_is_a_400_naming_the_field(api, owner, other_org, body, field):
    answer = api(owner).post("/api/alerts/channels/", body, format="json")
    assert answer.status_code == 400 and field in answer.json(), answer.json()
    assert not Channel.objects.exists()


def test_an_admin_creates_and_changes_a_rule(api, owner):
    channel = slack_channel(owner)
    body = {
        "name": "failures",
        "kind": "session_failed",
        "params": {"minutes": 15},
        "severity": "critical",
        "throttle_minutes": 30,
        "channels": [str(channel.pk)],
        "enabled": True,
    }
    answer = api(owner).post("/api/alerts/rules/", body, format="json")
    assert answer.status_code == 201, answer.json()
    rule = answer.json()
    assert rule["channels"] == [str(channel.pk)] and rule["params"] == {"minutes": 15}
    patched = api(owner).patch(
        f"/api/alerts/rules/{rule['id']}/", {"enabled": False, "channels": []}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["channels"] == []
    assert api(owner).delete(f"/api/alerts/rules/{rule['id']}/").status_code == 204
    assert not Rule.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "r", "kind": "session_failed", "params": {"minutes": 0}}, "params"),
        ({"name": "r", "kind": "session_failed", "params": {"hours": 1}}, "params"),
        ({"name": "r", "kind": "session_failed", "params": {"minutes": True}}, "params"),
        ({"name": "r", "kind": "session_failed", "params": [1]}, "params"),
        ({"name": "r", "kind": "disk_space_low"}, "kind"),  # platform only
        ({"name": "r", "kind": "nope"}, "kind"),
        ({"name": "r", "kind": "session_failed", "throttle_minutes": 0}, "throttle_minutes"),
        ({"name": "r", "kind": "session_failed", "severity": "apocalyptic"}, "severity"),
    ],
)
def test_bad_rule_input_is_a_400_naming_the_field(api, owner, body, field):
    answer = api(owner).post("/api/alerts/rules/", body, format="json")
    assert answer.status_code == 400 and field in answer.json(), answer.json()
    assert not Rule.objects.exists()


def test_a_rule_cannot_notify_another_organizations_channel(api, owner, outsider):
    theirs = slack_channel(outsider)
    answer = api(owner).post(
        "/api/alerts/rules/",
        {"name": "r", "kind": "session_failed", "channels": [str(theirs.pk)]},
        format="json",
    )
    assert answer.status_code == 400 and "channels" in answer.json()
    assert not Rule.objects.exists()


def test_members_and_viewers_may_not_touch_alerting(api, owner, member, viewer):
    channel = slack_channel(owner)
    for user in (member, viewer):
        client = api(user)
        assert client.get("/api/alerts/channels/").status_code == 403
        assert client.post("/api/alerts/channels/", SLACK, format="json").status_code == 403
        assert client.post(f"/api/alerts/channels/{channel.pk}/test/").status_code == 403
        assert client.get("/api/alerts/").status_code == 403


def test_another_organizations_objects_are_404(api, owner, outsider):
    channel = slack_channel(outsider)
    rule = rule_of(outsider, "session_failed", [channel])
    client = api(owner)
    assert client.get(f"/api/alerts/channels/{channel.pk}/").status_code == 404
    assert (
        client.patch(
            f"/api/alerts/channels/{channel.pk}/", {"name": "x"}, format="json"
        ).status_code
        == 404
    )
    assert client.post(f"/api/alerts/channels/{channel.pk}/test/").status_code == 404
    assert client.delete(f"/api/alerts/rules/{rule.pk}/").status_code == 404
    assert client.get("/api/alerts/rules/").json()["results"] == []
    assert Rule.objects.filter(pk=rule.pk).exists()


def test_platform_objects_are_for_superusers(api, owner, superuser):
    answer = api(superuser).post(
        "/api/alerts/rules/",
        {"name": "disk", "kind": "disk_space_low", "params": {"min_free_gb": 5}},
        format="json",
    )
    assert answer.status_code == 201 and answer.json()["organization"] is None
    platform_rule = answer.json()["id"]
    assert api(owner).get(f"/api/alerts/rules/{platform_rule}/").status_code == 404
    for_acme = api(superuser).post(
        "/api/alerts/channels/", {**SLACK, "organization": "acme"}, format="json"
    )
    assert for_acme.status_code == 201 and for_acme.json()["organization"] == "acme"


def test_the_alert_history_lists_alerts_with_their_deliveries_and_filters(api, owner, slack, tick):
    rule = rule_of(owner, "session_failed", [slack_channel(owner)])
    failed_session(owner)
    tick()
    listed = api(owner).get("/api/alerts/").json()["results"]
    assert len(listed) == 1 and listed[0]["status"] == "firing"
    assert [(d["status"], d["event"]) for d in listed[0]["deliveries"]] == [("sent", "firing")]
    assert api(owner).get("/api/alerts/?status=resolved").json()["results"] == []
    assert len(api(owner).get(f"/api/alerts/?rule={rule.pk}").json()["results"]) == 1
    assert api(owner).get("/api/alerts/?rule=not-a-uuid").json()["results"] == []
    detail = api(owner).get(f"/api/alerts/{listed[0]['id']}/")
    assert detail.status_code == 200 and detail.json()["rule_name"] == "session_failed"


def test_silences_are_created_listed_and_expired(api, owner):
    rule = rule_of(owner, "session_failed")
    ends_at = (timezone.now() + timedelta(hours=2)).isoformat()
    answer = api(owner).post(
        "/api/alerts/silences/",
        {"rule": str(rule.pk), "reason": "maintenance window", "ends_at": ends_at},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    silence = answer.json()
    assert silence["active"] is True and silence["created_by_name"] == "owner"
    listed = api(owner).get("/api/alerts/silences/").json()["results"]
    assert [s["id"] for s in listed] == [silence["id"]]
    expired = api(owner).post(f"/api/alerts/silences/{silence['id']}/expire/")
    assert expired.status_code == 200 and expired.json()["active"] is False
    assert AuditEvent.objects.filter(action=AlertAuditAction.SILENCE_EXPIRED).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x", "ends_at": "2001-01-01T00:00:00Z"}, "ends_at"),
        ({"reason": "", "ends_at": "2999-01-01T00:00:00Z"}, "reason"),
        ({"reason": "x", "ends_at": "2999-01-01T00:00:00Z"}, "ends_at"),  # beyond a year
        ({"reason": "x", "ends_at": "soon"}, "ends_at"),
        (
            {
                "reason": "x",
                "rule": "00000000-0000-0000-0000-000000000000",
                "ends_at": (timezone.now() + timedelta(hours=1)).isoformat(),
            },
            "rule",
        ),
    ],
)
def test_bad_silences_are_a_400_naming_the_field(api, owner, body, field):
    answer = api(owner).post("/api/alerts/silences/", body, format="json")
    assert answer.status_code == 400 and field in answer.json(), answer.json()
    assert not Silence.objects.exists()
