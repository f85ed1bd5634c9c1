"""Live events: one push per recorded event to the session's channel-layer group.

Consumers (WebSocket, SSE) subscribe to the group and forward; nothing here touches the
database, so the cost of an event does not grow with the number of viewers.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_name(session_id) -> str:
    return f"session.{session_id}"


def publish(session_id, event: dict) -> None:
    """Push `event` to everyone watching the session. Called after commit only."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group_name(session_id), {"type": "session.event", "event": event}
        )
    except Exception:
        # A dropped push is caught up from the seq cursor; it must never undo a commit.
        logger.exception("live publish failed for session %s", session_id)
