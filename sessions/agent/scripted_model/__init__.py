"""Offline scripted demo model for running Claude Code without the internet.

Public API lives in :mod:`sessions.agent.scripted_model.server`; names are
re-exported lazily so ``python -m sessions.agent.scripted_model.server`` does not
import the module twice (runpy warns about that).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ScriptedModelServer", "load_scenario", "scenario_names"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
