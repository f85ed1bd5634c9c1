"""Django's PostgreSQL backend, with the tenant context set in every transaction.

The row-level security policies read `app.current_org_id` and `app.rls_bypass`. They are set
with `set_config(..., true)`: local to the transaction, so a connection handed back to the
pool cannot carry one organization's context into another's request. Before each statement
the backend makes sure the transaction holds the context in force (tenants.context): once
per transaction (again only if the context changes), sent in front of the statement in the
same round trip; an autocommit statement gets it the same way, in one implicit transaction.
No context: no rows.
"""

from __future__ import annotations

import uuid

import psycopg
from django.db import transaction
from django.db.backends.postgresql import base
from psycopg import ServerCursor

from tenants.context import current_scope

SET_CONTEXT = (
    "SELECT set_config('app.current_org_id', %s, true), set_config('app.rls_bypass', %s, true)"
)
NONE = ("", "")
# Not known (a new connection, or a savepoint rolled back): set it before the next statement.
UNKNOWN = ("?", "?")


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tenant_settings = UNKNOWN
        # First in the list: the outermost wrapper, so every statement passes through it.
        self.execute_wrappers.insert(0, _with_tenant_context)

    def get_new_connection(self, conn_params):
        self.tenant_settings = UNKNOWN
        return super().get_new_connection(conn_params)

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self.tenant_settings = NONE

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self.tenant_settings = NONE

    def _savepoint_rollback(self, sid):
        try:
            return super()._savepoint_rollback(sid)
        finally:
            # A set_config made inside the savepoint is undone with it.
            self.tenant_settings = UNKNOWN

    def close(self):
        try:
            return super().close()
        finally:
            self.tenant_settings = UNKNOWN

    def apply_tenant_settings(self, wanted: tuple[str, str]) -> None:
        if self.tenant_settings != wanted:
            # The raw connection: not a statement of the caller's (not counted, not wrapped).
            self.connection.execute(SET_CONTEXT, wanted)
            self.tenant_settings = wanted


def _with_tenant_context(execute, sql, params, many, context):
    connection: DatabaseWrapper = context["connection"]
    wanted = current_scope().settings()
    in_transaction = not connection.get_autocommit()
    if in_transaction and connection.tenant_settings == wanted:
        return execute(sql, params, many, context)
    if not in_transaction and wanted == NONE:
        # Nothing was set in this statement's own transaction: it sees no tenant rows.
        return execute(sql, params, many, context)
    cursor = context["cursor"].cursor
    if many or not isinstance(cursor, psycopg.ClientCursor) or isinstance(cursor, ServerCursor):
        with transaction.atomic(using=connection.alias):
            connection.apply_tenant_settings(wanted)
            return execute(sql, params, many, context)
    # No extra round trip: the setting goes in front of the statement, in the same simple
    # query. In autocommit mode PostgreSQL runs both in one implicit transaction, so the
    # setting ends with the statement; in a transaction it holds until the transaction ends.
    # The cursor then moves on to the statement's own result.
    result = execute(_setting_prefix(wanted) + sql, params, many, context)
    cursor.nextset()
    if in_transaction:
        connection.tenant_settings = wanted
    return result


def _setting_prefix(wanted: tuple[str, str]) -> str:
    organization_id, bypass = wanted
    # Literals, not parameters (the caller's own are interpolated into the same text): a uuid
    # and "on" or nothing, checked here, so nothing else can reach the statement.
    organization_id = str(uuid.UUID(organization_id)) if organization_id else ""
    bypass = "on" if bypass == "on" else ""
    return (
        f"SELECT set_config('app.current_org_id', '{organization_id}', true), "
        f"set_config('app.rls_bypass', '{bypass}', true); "
    )
