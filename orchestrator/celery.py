"""The Celery app. Workers: `celery -A orchestrator worker -Q agents,default`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")

app = Celery("orchestrator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Apps' `tasks` modules, plus those of packages inside an app.
app.autodiscover_tasks(["sessions.agent"])
