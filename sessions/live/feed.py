"""Live events: one push per committed batch to the session's channel-layer group.

Consumers (WebSocket, SSE) subscribe through `follow()` and forward. Publishing touches no
database, and a follower reads the database only to catch up when it starts (or to fill a
gap), so the cost of an event does not grow with the number of viewers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

from tenants.tenancy import tenant_context

from ..models import CommandLog, SessionMessage

logger = logging.getLogger(__name__)


def group_name(session_id) -> str:
    return f"session.{session_id}"


def publish(session_id, event: dict) -> None:
    """Push `event` to everyone watching the session. Called after commit only."""
    publish_many(session_id, [event])


def publish_many(session_id, events: list[dict]) -> None:
    """Push `events` (in seq order) as one message: ingestion sends one per batch per
    session, so a busy session costs one publish per commit, not one per event."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    message = {"type": "session.events", "events": events}
    if isinstance(layer, InMemoryChannelLayer):
        _send_in_process(layer, group_name(session_id), message)
    else:
        _publisher.submit(layer, group_name(session_id), message)


# The in-memory layer's queues belong to the server's event loop: a push from another thread
# (the ingest writer) must run on that loop, or its waiting viewers may not wake up.
_home_loop: asyncio.AbstractEventLoop | None = None


def _send_in_process(layer, group: str, message: dict) -> None:
    if not layer.groups.get(group):
        return  # nobody in this process watches the session
    loop = _home_loop
    if loop is not None and loop.is_running() and not _in_loop(loop):
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        future.add_done_callback(lambda done: done.exception() and _log_failure(group, done))
        return
    _send(layer, group, message)


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _log_failure(group: str, done) -> None:
    logger.error("live publish to %s failed", group, exc_info=done.exception())


def _send(layer, group: str, message: dict) -> None:
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # A dropped push is caught up from the seq cursor; it must never undo a commit.
        logger.exception("live publish to %s failed", group)


class _Publisher:
    """Pushes to a networked channel layer from one event loop thread per process, in the
    order events were recorded, without making the recording request wait for Redis (a third
    of the hook path's time when it did)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None

    def submit(self, layer, group: str, message: dict) -> None:
        loop, queue = self._started()
        loop.call_soon_threadsafe(queue.put_nowait, (layer, group, message))

    def _started(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue]:
        with self._lock:
            if self._loop is None:
                ready = threading.Event()
                threading.Thread(
                    target=self._run, args=(ready,), name="live-publisher", daemon=True
                ).start()
                ready.wait()
            return self._loop, self._queue

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._queue, self._loop = asyncio.Queue(), loop
        ready.set()
        loop.run_until_complete(self._drain())

    async def _drain(self) -> None:
        while True:
            layer, group, message = await self._queue.get()
            try:
                await layer.group_send(group, message)
            except Exception:
                logger.exception("live publish to %s failed", group)


_publisher = _Publisher()


# --- following a session: catch-up from the database, then the live group ------------------

# How many events one catch-up read fetches; a long backlog is read in pages of this size.
CATCH_UP_PAGE = 500


def events_after(session_id, after: int, limit: int, upto: int | None = None) -> list[dict]:
    """Up to `limit` logs and messages of the session with `after < seq <= upto`, merged in
    seq order, in their live-event form. Callers must have authorized the session already."""
    rows: list[CommandLog | SessionMessage] = []
    for model in (CommandLog, SessionMessage):
        query = model.objects.filter(session_id=session_id, seq__gt=after)
        if upto is not None:
            query = query.filter(seq__lte=upto)
        rows.extend(query.order_by("seq")[:limit])
    # Seqs are unique across both kinds: sorting the two sorted pages merges them.
    rows.sort(key=lambda row: row.seq)
    return [row.as_event() for row in rows[:limit]]


def _events_as(organization_id, *args) -> list[dict]:
    if organization_id is None:  # the caller's own context
        return events_after(*args)
    with tenant_context(organization_id):
        return events_after(*args)


async def _read_events(
    session_id, after: int, upto: int | None = None, *, organization_id=None
) -> AsyncIterator[dict]:
    """Every event with `after < seq <= upto` (no upper bound when `upto` is None), paged, read
    as `organization_id` (a stream outlives the request that authorized it)."""
    while True:
        page = await database_sync_to_async(_events_as)(
            organization_id, session_id, after, CATCH_UP_PAGE, upto
        )
        for event in page:
            yield event
        if len(page) < CATCH_UP_PAGE:
            return
        after = page[-1]["seq"]


async def follow(session_id, after: int = 0, *, organization_id=None) -> AsyncIterator[dict]:
    """Every event of the session after the cursor `after`, then every new one as it happens:
    no gap and no duplicate across the catch-up/live boundary.

    The group is joined before the database is read, so an event committed during the read
    arrives on the channel as well; seq'd events at or below the last seq yielded are dropped.
    Events without a seq (status, hook) pass through. The caller authorizes; leave the loop
    (or close the generator) to leave the group.
    """
    global _home_loop
    _home_loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = group_name(session_id)
    await layer.group_add(group, channel)
    try:
        last = after
        async for event in _read_events(session_id, after, organization_id=organization_id):
            last = event["seq"]
            yield event
        while True:
            for event in (await layer.receive(channel)).get("events") or ():
                seq = event.get("seq")
                if seq is None:
                    yield event
                    continue
                if seq <= last:
                    continue
                if seq > last + 1:
                    # Seqs are gap-free, so a jump means a push was lost (a full channel) or
                    # is still on its way from another process (publishes run after commit,
                    # not in seq order). Whatever lies between is committed: read it once.
                    missed_events = _read_events(
                        session_id, last, upto=seq - 1, organization_id=organization_id
                    )
                    async for missed in missed_events:
                        yield missed
                last = seq
                yield event
    finally:
        await layer.group_discard(group, channel)
