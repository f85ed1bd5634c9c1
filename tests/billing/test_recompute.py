"""The periodic recompute: drift is recorded, never written over the recorded cost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_celery_beat.models import PeriodicTask

from billing import tasks
from billing.models import CostDrift
from sessions.choices import SessionMode
from sessions.ingest import ingest
from tests.billing.conftest import pre, set_rate, tool_call
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


def test_it_is_scheduled_every_five_minutes_and_editable():
    task = PeriodicTask.objects.get(task="billing.tasks.recompute_costs")
    assert (task.interval.every, task.interval.period) == (5, "minutes")


def test_a_session_whose_cost_matches_has_no_drift_and_one_that_does_is_recorded(member, superuser):
    set_rate(superuser, "Bash", "1")
    clean = new_session(member, name="clean", mode=SessionMode.ATTACHED)
    tool_call(clean, "t1")
    odd = new_session(member, name="odd", mode=SessionMode.ATTACHED)
    ingest(session=odd, payload=pre("t2"))  # allowed and charged, but never reported back
    assert tasks.recompute_costs() == 1
    drift = CostDrift.objects.get()
    assert drift.session_id == odd.pk
    assert (drift.recorded_usd, drift.recomputed_usd) == (Decimal(1), Decimal(0))
    odd.refresh_from_db()
    assert odd.cost_usd == Decimal(1)  # recorded, not rewritten
    # Nothing happened since the watermark: nothing is checked again.
    assert tasks.recompute_costs() == 0
