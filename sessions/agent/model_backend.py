"""Which Messages API Claude Code talks to: the real one, or the scripted demo model.

The scripted model is used only when SCRIPTED_MODEL is on (the default in DEBUG with no
ANTHROPIC_API_KEY); production without a key fails the turn instead of pretending.
"""

from __future__ import annotations

import threading

from django.conf import settings

from .scripted_model.server import ScriptedModelServer

_server: ScriptedModelServer | None = None
_lock = threading.Lock()


class ModelNotConfigured(RuntimeError):
    pass


def model_env(*, scripted: bool) -> dict[str, str]:
    if scripted:
        return {"ANTHROPIC_BASE_URL": _scripted_url(), "ANTHROPIC_API_KEY": "scripted-demo-model"}
    if not settings.ANTHROPIC_API_KEY:
        raise ModelNotConfigured("ANTHROPIC_API_KEY is not set; Claude Code cannot reach a model.")
    env = {"ANTHROPIC_API_KEY": settings.ANTHROPIC_API_KEY}
    if settings.ANTHROPIC_BASE_URL:
        env["ANTHROPIC_BASE_URL"] = settings.ANTHROPIC_BASE_URL
    return env


def _scripted_url() -> str:
    """One scripted server per process, started on first use (it keeps no session state)."""
    if settings.SCRIPTED_MODEL_URL:
        return settings.SCRIPTED_MODEL_URL
    global _server
    with _lock:
        if _server is None:
            _server = ScriptedModelServer()
            _server.start()
        return _server.base_url
