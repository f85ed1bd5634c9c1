"""Each built-in condition fires when its condition holds and resolves when it clears,
evaluated by the periodic job (engine.tick) on real rows, real counters and the real disk."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts import services
from alerts.choices import AlertStatus
from alerts.models import Alert
from sessions import services as session_services
from sessions.choices import SessionMode, SessionStatus
from sessions.hooks import stats as hook_stats
from sessions.models import Session
from sessions.signals import budget_threshold_reached
from tenants import services as tenant_services
from tests.alerts.conftest import failed_session, rule_of
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


def statuses() -> dict[str, str]:
    return {alert.subject: alert.status for alert in Alert.objects.all()}


def test_session_failed(owner, clock, tick):
    rule_of(owner, "session_failed", params={"minutes": 10})
    session = failed_session(owner)
    tick()
    assert statuses() == {f"session:{session.pk}": AlertStatus.FIRING}
    clock.advance(minutes=11)
    tick()
    assert statuses() == {f"session:{session.pk}": AlertStatus.RESOLVED}


def test_stuck_session(owner, clock, tick):
    rule_of(owner, "stuck_session", params={"minutes": 5})
    session = new_session(owner, name="runner", mode=SessionMode.ATTACHED)
    # A managed session whose runner went quiet (the mode is set directly: nothing runs it).
    Session.objects.filter(pk=session.pk).update(
        mode=SessionMode.MANAGED,
        status=SessionStatus.RUNNING,
        heartbeat_at=clock.now - timedelta(minutes=6),
    )
    tick()
    assert statuses() == {f"session:{session.pk}": AlertStatus.FIRING}
    session_services.record_heartbeat(session_id=session.pk)
    Session.objects.filter(pk=session.pk).update(heartbeat_at=clock.now)
    tick()
    assert statuses() == {f"session:{session.pk}": AlertStatus.RESOLVED}


def test_high_session_count(owner, tick):
    rule_of(owner, "high_session_count", params={"max_active": 1})
    first = new_session(owner, name="a", mode=SessionMode.ATTACHED)
    new_session(owner, name="b", mode=SessionMode.ATTACHED)
    tick()
    assert statuses() == {"active-sessions": AlertStatus.FIRING}
    session_services.stop_session(session=first, actor=owner)
    tick()
    assert statuses() == {"active-sessions": AlertStatus.RESOLVED}


def test_quota_near(owner, superuser, tick):
    rule_of(owner, "quota_near", params={"percent": 80})
    tenant_services.set_quotas(
        organization=owner.organization, actor=superuser, changes={"max_active_sessions": 2}
    )
    new_session(owner, name="a", mode=SessionMode.ATTACHED)
    new_session(owner, name="b", mode=SessionMode.ATTACHED)
    tick()
    assert statuses() == {"quota:acme:max_active_sessions": AlertStatus.FIRING}
    tenant_services.set_quotas(
        organization=owner.organization, actor=superuser, changes={"max_active_sessions": 10}
    )
    tick()
    assert statuses() == {"quota:acme:max_active_sessions": AlertStatus.RESOLVED}


def test_hook_delivery_failing(owner, tick):
    rule = rule_of(
        owner, "hook_delivery_failing", params={"percent": 20, "minutes": 5, "min_posts": 10}
    )
    organization_id = owner.organization_id
    for _ in range(7):
        hook_stats.record(organization_id, hook_stats.ACCEPTED)
    for outcome in (hook_stats.REFUSED, hook_stats.FAILED, hook_stats.REPLAYED):
        hook_stats.record(organization_id, outcome)
    tick()
    assert statuses() == {"hooks:acme": AlertStatus.FIRING}
    assert Alert.objects.get().details == {"accepted": 7, "refused": 1, "failed": 1, "replayed": 1}
    for _ in range(10):  # the share of bad posts falls to 3 of 20: 15 %
        hook_stats.record(organization_id, hook_stats.ACCEPTED)
    tick()
    assert statuses() == {"hooks:acme": AlertStatus.RESOLVED}
    assert rule.alerts.count() == 1


def test_disk_space_low_is_a_platform_rule(superuser, owner, tick, settings, tmp_path):
    settings.WORKSPACES_DIR = tmp_path / "workspaces"  # not there yet: its parent is measured
    rule = services.create_rule(
        actor=superuser,
        organization=None,
        name="disk",
        kind="disk_space_low",
        params={"min_free_gb": 1_000_000},  # more than any disk here has free
    )
    tick()
    assert statuses() == {"disk:workspaces": AlertStatus.FIRING}
    assert Alert.objects.get().organization is None
    services.update_rule(rule=rule, actor=superuser, params={"min_free_gb": 0})
    tick()
    assert statuses() == {"disk:workspaces": AlertStatus.RESOLVED}
    with pytest.raises(Exception, match="operators' rules only"):
        rule_of(owner, "disk_space_low")


def test_budget_threshold_fires_on_billings_signal_and_resolves_after_its_hold(
    owner, clock, tick, django_capture_on_commit_callbacks
):
    rule_of(owner, "budget_threshold", params={"min_percent": 80, "hold_minutes": 60})
    session = new_session(owner, name="pricey", mode=SessionMode.ATTACHED)
    for percent in (50, 80):  # 50 % is under the rule's minimum: no alert
        budget_threshold_reached.send_robust(
            sender=Session,
            organization_id=owner.organization_id,
            session=session,
            scope="session",
            threshold_percent=percent,
            spent=Decimal("8.00"),
            limit=Decimal("10.00"),
        )
    alert = Alert.objects.get()
    assert alert.subject == f"budget:session:{session.pk}:80"
    assert "80 % of the session budget" in alert.summary
    clock.now = timezone.now() + timedelta(minutes=30)
    tick()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.FIRING
    clock.advance(minutes=31)
    tick()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED


def test_a_rule_that_fails_to_evaluate_does_not_stop_the_others(owner, tick):
    broken = rule_of(owner, "session_failed")
    type(broken).objects.filter(pk=broken.pk).update(kind="no_such_kind")
    rule_of(owner, "high_session_count", params={"max_active": 0})
    new_session(owner, name="a", mode=SessionMode.ATTACHED)
    tick()
    assert statuses() == {"active-sessions": AlertStatus.FIRING}
