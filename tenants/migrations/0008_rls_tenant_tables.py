# Row-level security on the tenants app's tenant-owned tables (PostgreSQL only; see tenants/rls.py).

from django.db import migrations

from tenants.rls import EnableRowLevelSecurity, PostgresOnlySQL

# Token authentication knows only the presented token: this finds its holder's id (nothing
# else) past row-level security, so the token row can then be read in the holder's context.
TOKEN_HOLDER = """
CREATE OR REPLACE FUNCTION rls_api_token_holder(token_digest text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
    before text := coalesce(current_setting('app.rls_bypass', true), '');
    answer bigint;
BEGIN
    -- The bypass for this one read only: put back as it was before returning.
    PERFORM set_config('app.rls_bypass', 'on', true);
    SELECT user_id INTO answer FROM tenants_apitoken WHERE digest = token_digest;
    PERFORM set_config('app.rls_bypass', before, true);
    RETURN answer;
END
$$
"""


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0007_members_audit_actions'),
    ]

    operations = [
        EnableRowLevelSecurity('tenants_idempotencykey', column='organization_id'),
        EnableRowLevelSecurity('tenants_apitoken', column='organization_id'),
        EnableRowLevelSecurity('tenants_auditevent', column='organization_id'),
        PostgresOnlySQL([TOKEN_HOLDER], ['DROP FUNCTION IF EXISTS rls_api_token_holder(text)']),
    ]
