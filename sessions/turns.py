"""The seam between the core and the agent: services ask for a turn here, and the agent
package, which sits above the services it calls, installs what runs it
(`AgentSessionsConfig.ready()`). So the core never imports the agent, and no circle forms.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

# Queues one turn (session id, turn id, prompt) and returns at once; never raises: a turn it
# cannot queue ends its session in `error`.
Dispatcher = Callable[[uuid.UUID, uuid.UUID, "str | None"], None]

_dispatcher: Dispatcher | None = None


def install_dispatcher(dispatcher: Dispatcher) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def request_turn(session_id: uuid.UUID, turn_id: uuid.UUID, prompt: str | None) -> None:
    """Queue a turn. Call it after commit: the runner must find the turn claimed in the row."""
    if _dispatcher is None:
        raise ImproperlyConfigured("No turn dispatcher is installed; is 'sessions' an app?")
    _dispatcher(session_id, turn_id, prompt)
