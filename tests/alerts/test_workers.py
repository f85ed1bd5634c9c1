"""Alerting with the production machinery: two workers at once on PostgreSQL (the rule's
row lock and the deliveries' conditional claim keep it to one notification), and a real
Celery worker, fed through Redis, running the event-driven flush and the periodic job."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.utils import timezone

from alerts import engine, services
from alerts.choices import DeliveryStatus
from alerts.conditions import KINDS
from alerts.models import Alert, Delivery, Notification
from alerts.tasks import evaluate_alerts
from tenants.tenancy import tenant_context
from tests.alerts.conftest import failed_session, rule_of, slack_channel
from tests.conftest import celery_worker
from tests.sessions.conftest import wait_for


def run_together(count: int, work) -> None:
    """`work()` in `count` threads released at the same moment."""
    barrier = threading.Barrier(count)
    errors = []

    def worker():
        try:
            barrier.wait()
            work()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_at_once_announce_an_alert_once(owner, slack, clock):
    rule_of(owner, "session_failed", [slack_channel(owner)])
    failed_session(owner)  # its signal fires the alert at once: tick from then on
    clock.now = timezone.now()
    run_together(4, lambda: engine.tick(now=clock.now))
    assert Alert.objects.count() == 1
    assert Notification.objects.count() == 1
    assert len(slack.received) == 1
    assert Delivery.objects.get().status == DeliveryStatus.SENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_one_delivery_twice(owner, slack, clock):
    rule = rule_of(owner, "session_failed", [slack_channel(owner)])
    failed_session(owner)  # its signal fires the alert at once: tick from then on
    clock.now = timezone.now()
    services.apply_findings(
        rule=rule,
        findings=KINDS["session_failed"].evaluate(rule, clock.now),
        now=clock.now,
        complete=True,
    )
    delivery = services.notify_due(rule=rule, now=clock.now).deliveries.get()

    def send():  # as the organization's flush sends: in its context (threads start in none)
        with tenant_context(owner.organization):
            engine.send(delivery.pk, now=clock.now)

    run_together(4, send)
    assert len(slack.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)


@pytest.fixture
def worker(slack, tmp_path):
    """A Celery worker on queue `default`, with Slack at the test's server."""
    env = {
        "REDIS_URL": django_settings.REDIS_URL,
        "SLACK_API_URL": django_settings.SLACK_API_URL,
        "ALERT_GROUP_WAIT_SECONDS": "0",
        "PUBLIC_URL": "https://orchestrator.example.com",
    }
    with celery_worker("default", tmp_path / "worker.log", env) as process:
        yield process


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_delivers_a_failure_and_runs_the_periodic_job(
    owner, slack, settings, worker
):
    settings.ALERT_DISPATCH = "celery"
    rule_of(owner, "session_failed", [slack_channel(owner)], params={"minutes": 30})
    failed_session(owner, name="first")  # the signal queues flush_organization
    wait_for(lambda: len(slack.received) == 1, timeout=90)
    # The periodic job, as beat would send it, evaluates and announces the next one.
    settings.ALERT_DISPATCH = "off"
    failed_session(owner, name="second")
    evaluate_alerts.delay()
    wait_for(lambda: len(slack.received) == 2, timeout=90)
    assert "second" in str(slack.received[1].json["blocks"])
