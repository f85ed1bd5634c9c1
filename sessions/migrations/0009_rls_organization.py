# Every tenant-owned table of the sessions app carries its organization and is held by
# row-level security (PostgreSQL only; see tenants/rls.py).

import django.db.models.deletion
from django.db import migrations, models

from tenants.rls import EnableRowLevelSecurity, PostgresOnlySQL, scoped_foreign_key

CHILDREN = ('agent_sessions_sessionmessage', 'agent_sessions_commandlog', 'agent_sessions_hookevent')

# Portable (SQLite and PostgreSQL); runs before row-level security is on.
BACKFILL = [
    f"UPDATE {table} SET organization_id = (SELECT s.organization_id FROM agent_sessions_session s"
    f" WHERE s.id = {table}.session_id)"
    for table in CHILDREN
]

# A hook token and a queued turn name a session, not its organization: this answers that one
# uuid (never a row) past row-level security, so the caller can then enter the context.
SESSION_ORGANIZATION = """
CREATE OR REPLACE FUNCTION rls_session_organization(session uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
    before text := coalesce(current_setting('app.rls_bypass', true), '');
    answer uuid;
BEGIN
    -- The bypass for this one read only: put back as it was before returning.
    PERFORM set_config('app.rls_bypass', 'on', true);
    SELECT organization_id INTO answer FROM agent_sessions_session WHERE id = session;
    PERFORM set_config('app.rls_bypass', before, true);
    RETURN answer;
END
$$
"""


def organization(null: bool):
    return models.ForeignKey(
        editable=False,
        null=null,
        on_delete=django.db.models.deletion.CASCADE,
        related_name='+',
        to='tenants.organization',
    )


class Migration(migrations.Migration):

    dependencies = [
        ('agent_sessions', '0008_quota_usage'),
        ('tenants', '0008_rls_tenant_tables'),
    ]

    operations = [
        *[
            migrations.AddField(model_name=model, name='organization', field=organization(True))
            for model in ('sessionmessage', 'commandlog', 'hookevent')
        ],
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        *[
            migrations.AlterField(model_name=model, name='organization', field=organization(False))
            for model in ('sessionmessage', 'commandlog', 'hookevent')
        ],
        migrations.AlterField(
            model_name='cleanuprecord',
            name='organization_id',
            field=models.UUIDField(blank=True, db_index=True, null=True),
        ),
        migrations.AddConstraint(
            model_name='session',
            constraint=models.UniqueConstraint(fields=('id', 'organization'), name='session_id_org_unique'),
        ),
        *[scoped_foreign_key(table, 'agent_sessions_session') for table in CHILDREN],
        EnableRowLevelSecurity('agent_sessions_session', column='organization_id'),
        *[EnableRowLevelSecurity(table, column='organization_id') for table in CHILDREN],
        EnableRowLevelSecurity('agent_sessions_cleanuprecord', column='organization_id'),
        PostgresOnlySQL(
            [SESSION_ORGANIZATION], ['DROP FUNCTION IF EXISTS rls_session_organization(uuid)']
        ),
    ]
