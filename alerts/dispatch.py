"""Where the event-driven flush runs: a Celery task (queue `default`) when a broker is
configured, else a timer thread of this process (the embedded default). Either way it runs
ALERT_GROUP_WAIT_SECONDS after the event, so the alerts of one burst go out as one
notification. Losing it (a crash meanwhile) loses nothing: the periodic job flushes too."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from . import engine
from .tasks import flush_organization

logger = logging.getLogger(__name__)


def schedule_flush(organization_id) -> None:
    delay = settings.ALERT_GROUP_WAIT_SECONDS + 1
    try:
        if settings.ALERT_DISPATCH == "celery":
            flush_organization.apply_async(
                args=[str(organization_id)], countdown=delay, retry=False
            )
        elif settings.ALERT_DISPATCH == "thread":
            timer = threading.Timer(delay, _flush_in_thread, args=[organization_id])
            timer.daemon = True
            timer.start()
        # "off": only the periodic job flushes (tests that drive the engine step by step).
    except Exception:
        logger.exception("could not schedule the alert flush of %s", organization_id)


def _flush_in_thread(organization_id) -> None:
    try:
        engine.flush(organization_id)
    except Exception:
        logger.exception("alert flush of %s failed", organization_id)
    finally:
        close_old_connections()
