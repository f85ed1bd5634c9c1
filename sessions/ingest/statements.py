"""The SQL of a batch: the raw events in, then everything the handlers changed out.

PostgreSQL gets statements whose text does not depend on the batch size (`unnest` of one
array per column, parameters bound server-side as binary arrays), so each is prepared once
per connection and a batch costs a fixed number of round trips: the raw events (one
statement), then every row, seq and session change together (one statement of data-modifying
CTEs). Multi-row VALUES lists spent most of the writer's CPU building and parsing their text;
a prepared single-row statement per row spent it in the server's per-statement work.

SQLite (the embedded default) runs the same steps as plain statements: a local call has no
round trips to save.

Both run on Django's connection, inside the batch's transaction; on PostgreSQL with cursors
of psycopg's own, after the batch's first statement (the session lock, through Django) has
set the transaction's tenant context.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import JSONField, Model

from ..models import CommandLog, HookEvent, Session, SessionMessage
from .events import SessionWrite, capped, stored_payload
from .submission import Submission

LOG_COLUMNS = (
    "session_id",
    "organization_id",
    "seq",
    "tool",
    "input",
    "input_bytes",
    "result",
    "result_bytes",
    "is_error",
    "duration_ms",
    "tool_use_id",
    "cost_usd",
    "created_at",
)
MESSAGE_COLUMNS = ("session_id", "organization_id", "seq", "direction", "content", "created_at")
EVENT_COLUMNS = (
    "session_id",
    "organization_id",
    "event_key",
    "hook_event_name",
    "payload",
    "payload_bytes",
    "created_at",
)


def _db():
    # Once per call: each attribute of `django.db.connection` is a thread-local lookup.
    return connections[DEFAULT_DB_ALIAS]


# --- the sessions --------------------------------------------------------------------------


def lock_sessions(ids: set[uuid.UUID]) -> dict[uuid.UUID, Session]:
    """The batch's sessions, locked until the batch commits, in id order (so two processes'
    batches never deadlock). The batch's first statement: through Django's cursor, which
    sets the transaction's tenant context in the same round trip."""
    db = _db()
    if db.vendor != "postgresql":
        return {s.pk: s for s in Session.objects.select_for_update().filter(pk__in=ids)}
    fields = Session._meta.concrete_fields
    quote = db.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {quote(Session._meta.db_table)} WHERE id = ANY(%s) "
            "ORDER BY id FOR UPDATE",
            [list(ids)],
        )
        rows = cursor.fetchall()
    # What the ORM's compiler would cost per batch, spared: only JSON needs converting.
    converters = [_converter(field, db) for field in fields]
    names = [field.attname for field in fields]
    sessions = (
        Session.from_db(
            db.alias, names, [c(v) if c else v for c, v in zip(converters, row, strict=True)]
        )
        for row in rows
    )
    return {session.pk: session for session in sessions}


def _converter(field, db):
    if isinstance(field, JSONField):
        return lambda value: field.from_db_value(value, None, db)
    return None


# --- the raw events ------------------------------------------------------------------------


def record_events(admitted: list[tuple[Submission, SessionWrite]], now: datetime) -> dict:
    """Insert the raw events, skipping those recorded before (`ON CONFLICT DO NOTHING`
    against the unique event key); {(session id, event key): row id} of the new ones."""
    rows, seen = [], set()
    for item, _ in admitted:
        ident = (item.session_id, item.key)
        if ident in seen:
            continue  # the same event twice in one batch: the first one counts
        seen.add(ident)
        stored, size = capped(stored_payload(item.name, item.payload))
        rows.append((item.session_id, item.organization_id, item.key, item.name, stored, size, now))
    inserted = insert_rows(
        HookEvent,
        EVENT_COLUMNS,
        rows,
        conflict=("session_id", "event_key"),
        returning=("id", "session_id", "event_key"),
    )
    return {(_as_uuid(session_id), key): pk for pk, session_id, key in inserted}


def insert_rows(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    conflict: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple]:
    """Insert `rows` (values by attribute name, as `columns` lists them), adapted for the
    database the way the ORM would; `conflict`: the unique columns whose duplicates are
    skipped; `returning`: columns to read back from the rows inserted."""
    if not rows:
        return []
    db = _db()
    sql, tail, fields = _insert_parts(db, model, tuple(columns), tuple(conflict), tuple(returning))
    if db.vendor == "postgresql":
        with psycopg.Cursor(db.connection) as cursor:
            cursor.execute(f"{sql} {_unnest(db, fields)}{tail}", _columns(db, fields, rows))
            return cursor.fetchall() if returning else []
    params = [
        field.get_db_prep_save(value, db)
        for row in rows
        for field, value in zip(fields, row, strict=True)
    ]
    marks = ", ".join("(" + ", ".join("%s" for _ in fields) + ")" for _ in rows)
    with db.cursor() as cursor:
        cursor.execute(f"{sql} VALUES {marks}{tail}", params)
        return cursor.fetchall() if returning else []


# The statements' text is built once per shape (and so prepared once per connection).


@functools.lru_cache(maxsize=64)
def _insert_parts(db, model, columns: tuple, conflict: tuple, returning: tuple):
    quote = db.ops.quote_name
    fields = tuple(model._meta.get_field(name) for name in columns)  # attnames work too
    names = ", ".join(quote(field.column) for field in fields)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names})"
    tail = f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO NOTHING" if conflict else ""
    tail += f" RETURNING {', '.join(quote(c) for c in returning)}" if returning else ""
    return sql, tail, fields


@functools.lru_cache(maxsize=256)
def _unnest(db, fields: tuple) -> str:
    return f"SELECT * FROM unnest({', '.join(f'%b::{f.db_type(db)}[]' for f in fields)})"


def _columns(db, fields: list, rows: Sequence[tuple]) -> list[list]:
    """One list per column. Values go to psycopg as they are (uuids, datetimes, numbers and
    strings adapt natively), JSON through its field, as the ORM would."""
    columns = []
    for field, column in zip(fields, zip(*rows, strict=True), strict=True):
        json = isinstance(field, JSONField)
        columns.append([field.get_db_prep_save(v, db) for v in column] if json else list(column))
    return columns


# --- what the handlers changed -------------------------------------------------------------


def write_changes(writes: list[SessionWrite], seqs: dict[int, int]) -> None:
    """The new rows, the raw events' seqs and each session's changed fields."""
    logs = [row for write in writes for row in write.logs]
    messages = [row for write in writes for row in write.messages]
    changed = [write for write in writes if write.fields]
    if _db().vendor == "postgresql":
        returned = _write_changes_at_once(logs, messages, seqs, changed)
    else:
        returned = _write_changes_one_by_one(logs, messages, seqs, changed)
    _set_row_ids(logs + messages, returned)


def _write_changes_at_once(logs, messages, seqs: dict[int, int], changed) -> list[tuple]:
    """PostgreSQL: one statement, one round trip, whatever the batch holds."""
    db, steps, params = _db(), [], []
    for name, model, columns, rows in (
        ("logs", CommandLog, LOG_COLUMNS, logs),
        ("messages", SessionMessage, MESSAGE_COLUMNS, messages),
    ):
        if rows:
            fields = tuple(model._meta.get_field(column) for column in columns)
            steps.append((name, _insert_returning(db, model, fields)))
            params += _columns(db, fields, [_values(row, columns) for row in rows])
    if seqs:
        table = db.ops.quote_name(HookEvent._meta.db_table)
        steps.append(
            (
                "seqs",
                f"UPDATE {table} AS event SET seq = given.seq FROM unnest(%b::bigint[], "
                "%b::bigint[]) AS given(id, seq) WHERE event.id = given.id",
            )
        )
        params += [list(seqs), list(seqs.values())]
    if changed:
        statement, values = _session_update(db, changed)
        steps.append(("sessions", statement))
        params += values
    if not steps:
        return []
    returning = [name for name, _ in steps if name in ("logs", "messages")]
    select = " UNION ALL ".join(f"SELECT id, session_id, seq FROM {name}" for name in returning)
    ctes = ", ".join(f"{name} AS ({statement})" for name, statement in steps)
    with psycopg.Cursor(db.connection) as cursor:
        cursor.execute(f"WITH {ctes} {select or 'SELECT NULL, NULL, NULL WHERE false'}", params)
        return cursor.fetchall()


@functools.lru_cache(maxsize=16)
def _insert_returning(db, model: type[Model], fields: tuple) -> str:
    quote = db.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {_unnest(db, fields)} "
        "RETURNING id, session_id, seq"
    )


def _session_update(db, changed: list[SessionWrite]) -> tuple[str, list[list]]:
    """`UPDATE session … FROM unnest(…)`: every changed field of every session at once (a
    session whose other fields did not change rewrites their current values: it is locked)."""
    names = tuple(sorted({name for write in changed for name in write.fields}))
    for write in changed:
        write.session.updated_at = write.now
    statement, fields = _session_update_sql(db, names)
    rows = [
        (write.session.pk, *(getattr(write.session, f.attname) for f in fields))
        for write in changed
    ]
    columns = _columns(db, [Session._meta.pk, *fields], rows)
    return statement, columns


@functools.lru_cache(maxsize=64)
def _session_update_sql(db, names: tuple[str, ...]) -> tuple[str, tuple]:
    fields = tuple(Session._meta.get_field(name) for name in names)
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = given.{quote(f.column)}" for f in fields)
    aliases = ", ".join(["id", *(quote(f.column) for f in fields)])
    arrays = ", ".join(["%b::uuid[]", *(f"%b::{f.db_type(db)}[]" for f in fields)])
    statement = (
        f"UPDATE {quote(Session._meta.db_table)} AS session SET {assignments} "
        f"FROM unnest({arrays}) AS given({aliases}) WHERE session.id = given.id"
    )
    return statement, fields


def _write_changes_one_by_one(logs, messages, seqs: dict[int, int], changed) -> list[tuple]:
    returned = []
    for model, columns, rows in (
        (CommandLog, LOG_COLUMNS, logs),
        (SessionMessage, MESSAGE_COLUMNS, messages),
    ):
        values = [_values(row, columns) for row in rows]
        returned += insert_rows(model, columns, values, returning=("id", "session_id", "seq"))
    if seqs:
        table = _db().ops.quote_name(HookEvent._meta.db_table)
        with _db().cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET seq = %s WHERE id = %s", [(s, pk) for pk, s in seqs.items()]
            )
    for write in changed:
        write.session.save(update_fields=sorted(write.fields))
    return returned


def _values(row: Model, columns: Sequence[str]) -> tuple:
    return tuple(getattr(row, column) for column in columns)


def _set_row_ids(rows: list[CommandLog | SessionMessage], returned: list[tuple]) -> None:
    """Give the new rows their ids; (session, seq) is unique, so match by it, whatever order
    the database returned them in."""
    by_place = {(_as_uuid(session_id), seq): pk for pk, session_id, seq in returned}
    for row in rows:
        row.pk = by_place[(row.session_id, row.seq)]
        row._state.adding = False


def _as_uuid(value) -> uuid.UUID:
    # PostgreSQL returns uuids; SQLite the 32 hex digits it stores.
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
