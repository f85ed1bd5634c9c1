"""Where the integrations' work runs once its transaction commits: a Celery task (queue
`default`) when a broker is configured, else a thread of this process (the embedded default).
A webhook is answered as soon as its delivery row commits; this does the rest."""

from __future__ import annotations

import logging
import threading

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)


def after_commit(task_name: str, *args) -> None:
    """Queue `tasks.<task_name>(*args)` after the current transaction commits."""
    arguments = [str(a) if not isinstance(a, dict) else a for a in args]
    transaction.on_commit(lambda: _start(task_name, arguments))


def _start(task_name: str, arguments: list) -> None:
    # By name from Celery's registry: tasks import services, which import this module.
    task = current_app.tasks[f"integrations.tasks.{task_name}"]
    try:
        if settings.INTEGRATION_DISPATCH == "celery":
            task.apply_async(args=arguments, retry=False)
        else:
            worker = threading.Thread(
                target=_run, args=(task, arguments), name=f"integrations-{task_name}", daemon=True
            )
            worker.start()
    except Exception:
        logger.exception("could not queue integrations task %s%s", task_name, arguments)


def _run(task, arguments: list) -> None:
    try:
        task.run(*arguments)
    except Exception:
        logger.exception("integrations task %s%s failed", task.name, arguments)
    finally:
        close_old_connections()
