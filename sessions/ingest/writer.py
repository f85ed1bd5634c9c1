"""The writer: one thread per process that commits events in batches (group commit).

Callers hand a validated `Submission` to `submit()` and wait on its future; the writer takes
whatever has arrived (up to INGEST_BATCH_MAX events; it waits INGEST_BATCH_LINGER_MS for
more, 0 by default: under load, events pile up while the previous batch commits, which makes
the batches), commits them together (`batch.write`) and then answers each future with that
event's own outcome. An event is answered only after the transaction holding it commits,
so nothing acknowledged can be lost; a crash loses only events nobody was answered for, and
the hook client's spool sends those again.

A caller already inside a transaction (a test, a service that records as part of its own
work) writes its event in that transaction instead, as a batch of one: it must commit or roll
back with the caller's work, and the writer's own connection could not see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future

from django.conf import settings
from django.db import connection

from .batch import write
from .submission import IngestRefused, Submission

logger = logging.getLogger(__name__)

_STOP = None


class Writer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Submission | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, item: Submission) -> Future:
        self._started()
        self._queue.put(item)
        return item.future

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what was submitted, then end the thread and close its connection."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join(timeout)

    def _started(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            # A forked child, or a thread that died (it never should): a new one takes over.
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._queue, self._pid = queue.SimpleQueue(), os.getpid()
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="ingest-writer", daemon=True
                )
                self._thread.start()

    def _run(self, inbox: queue.SimpleQueue) -> None:
        # This thread's connection never keeps DEBUG's query log: it would record every
        # statement of every batch (CPU and memory on the hot path, for nobody to read).
        connection.make_debug_cursor = connection.make_cursor
        try:
            while (items := _next_batch(inbox)) is not None:
                if items:
                    _commit(items)
        finally:
            connection.close()


def _next_batch(inbox: queue.SimpleQueue) -> list[Submission] | None:
    """The next batch: what has arrived, waiting for the first event (None: stop)."""
    first = inbox.get()
    if first is _STOP:
        return None
    items = [first]
    limit = max(1, settings.INGEST_BATCH_MAX)
    deadline = time.monotonic() + settings.INGEST_BATCH_LINGER_MS / 1000
    while len(items) < limit:
        remaining = deadline - time.monotonic()
        try:
            item = inbox.get(timeout=remaining) if remaining > 0 else inbox.get_nowait()
        except queue.Empty:
            break
        if item is _STOP:
            inbox.put(_STOP)  # stop once this batch is committed
            break
        items.append(item)
    return items


def _commit(items: list[Submission]) -> None:
    if connection.errors_occurred and not connection.is_usable():
        connection.close()
    try:
        outcomes = write(items)
    except Exception as exc:  # batch.write answers failures itself; this is a bug
        logger.exception("the ingest writer failed a batch of %d", len(items))
        outcomes = [IngestRefused(f"The event was not recorded: {exc!r}", status=500)] * len(items)
    _answer(items, outcomes)


def _answer(items: list[Submission], outcomes: list) -> None:
    waiting: dict[asyncio.AbstractEventLoop, list] = {}
    for item, outcome in zip(items, outcomes, strict=True):
        if item.waiter is None:
            item.future.set_result(outcome)
        else:
            waiting.setdefault(item.waiter.get_loop(), []).append((item.waiter, outcome))
    for loop, settled in waiting.items():
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future, object]]) -> None:
    for waiter, outcome in settled:
        if not waiter.done():  # a caller that gave up (a dropped connection) cancelled it
            waiter.set_result(outcome)


_writer = Writer()


def submit(item: Submission) -> Future:
    """Queue `item` for the writer, or write it here when the caller is in a transaction."""
    if connection.in_atomic_block or settings.INGEST_WRITER == "inline":
        item.future.set_result(write([item])[0])
        return item.future
    return _writer.submit(item)


def submit_to_writer(item: Submission) -> asyncio.Future:
    """For async callers (the ASGI hook route): always the writer thread; await the result."""
    item.waiter = asyncio.get_running_loop().create_future()
    _writer.submit(item)
    return item.waiter


def stop() -> None:
    _writer.stop()
