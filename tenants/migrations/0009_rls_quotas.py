# Row-level security on the quota tables (PostgreSQL only; see tenants/rls.py).

from django.db import migrations

from tenants.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0008_rls_tenant_tables'),
    ]

    operations = [
        EnableRowLevelSecurity('tenants_organizationquota', column='organization_id'),
        EnableRowLevelSecurity('tenants_organizationusage', column='organization_id'),
    ]
