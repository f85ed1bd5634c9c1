"""Row-level security as migration operations, so a tenant-owned table needs one line:

    EnableRowLevelSecurity("billing_usage", column="organization_id")

Each table gets two policies, each a plain comparison on an indexed column:
`tenant_isolation` (the row's organization is the context's) and `platform_bypass` (the
named bypass is on, tenants.tenancy.platform_bypass). A table of rows the platform shares
with every organization (`shared_when_null=True`: a NULL organization, such as the built-in
session templates) has a third, `shared_read` (FOR SELECT): any organization's context reads
those rows; none updates or deletes them; without a context nothing shows.
`ENABLE` and `FORCE`: the owner is held to them too; only superusers and BYPASSRLS roles
pass, and the application is neither. Nothing happens on other databases (SQLite keeps the
Python scoping).
"""

from __future__ import annotations

from django.db import migrations

CURRENT_ORG = "NULLIF(current_setting('app.current_org_id', true), '')::uuid"
BYPASS_ON = "current_setting('app.rls_bypass', true) = 'on'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def enable_sql(table: str, column: str, *, shared_when_null: bool = False) -> list[str]:
    t, c = _quote(table), _quote(column)
    statements = [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {t}",
        f"CREATE POLICY tenant_isolation ON {t} USING ({c} = {CURRENT_ORG}) "
        f"WITH CHECK ({c} = {CURRENT_ORG})",
        f"DROP POLICY IF EXISTS platform_bypass ON {t}",
        f"CREATE POLICY platform_bypass ON {t} USING ({BYPASS_ON}) WITH CHECK ({BYPASS_ON})",
        f"DROP POLICY IF EXISTS shared_read ON {t}",
    ]
    if shared_when_null:
        # FOR SELECT only: an UPDATE or DELETE of a shared row matches no policy of its
        # command, so only the bypass changes them. No context still reads nothing.
        statements.append(
            f"CREATE POLICY shared_read ON {t} FOR SELECT "
            f"USING ({c} IS NULL AND {CURRENT_ORG} IS NOT NULL)"
        )
    return statements


def disable_sql(table: str) -> list[str]:
    t = _quote(table)
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {t}",
        f"DROP POLICY IF EXISTS platform_bypass ON {t}",
        f"DROP POLICY IF EXISTS shared_read ON {t}",
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]


class PostgresOnlySQL(migrations.operations.base.Operation):
    """Statements run forwards and backwards on PostgreSQL only."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, forwards: list[str], backwards: list[str]) -> None:
        self.forwards, self.backwards = forwards, backwards

    def state_forwards(self, app_label, state) -> None:
        pass

    def _run(self, schema_editor, statements: list[str]) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._run(schema_editor, self.forwards)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._run(schema_editor, self.backwards)

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.forwards, self.backwards], {})


class EnableRowLevelSecurity(PostgresOnlySQL):
    """Row-level security on `table`, keyed on its `column` (the organization's id)."""

    def __init__(
        self, table: str, column: str = "organization_id", *, shared_when_null: bool = False
    ) -> None:
        self.table, self.column, self.shared_when_null = table, column, shared_when_null
        forwards = enable_sql(table, column, shared_when_null=shared_when_null)
        super().__init__(forwards, disable_sql(table))

    def describe(self) -> str:
        shared = " (NULL: shared with all)" if self.shared_when_null else ""
        return f"Row-level security on {self.table} by {self.column}{shared}"

    def deconstruct(self):
        kwargs = {"column": self.column}
        if self.shared_when_null:
            kwargs["shared_when_null"] = True
        return (self.__class__.__qualname__, [self.table], kwargs)


def scoped_foreign_key(child: str, parent: str, column: str = "session_id") -> PostgresOnlySQL:
    """A child row's (parent, organization) must be its parent's: foreign keys are checked
    without row-level security, so a plain key would let one organization attach rows to
    another's parent. Needs UNIQUE (id, organization_id) on the parent."""
    name = _quote(f"{child}_{column}_org_fk"[:63])
    c, p = _quote(child), _quote(parent)
    return PostgresOnlySQL(
        [
            f"ALTER TABLE {c} ADD CONSTRAINT {name} FOREIGN KEY ({_quote(column)}, organization_id)"
            f" REFERENCES {p} (id, organization_id) DEFERRABLE INITIALLY DEFERRED"
        ],
        [f"ALTER TABLE {c} DROP CONSTRAINT IF EXISTS {name}"],
    )
