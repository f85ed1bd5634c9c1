"""Running Claude Code for managed sessions: the runner, where turns run (dispatch, Celery
tasks), which model it talks to and the scripted demo model.

Sits above the core: imports models, services, ingest and workspaces; nothing in the core
imports it (services ask for turns through `sessions.turns`, installed in `apps.py`).
"""
