# The audit trail's actions for session templates (choices only).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0009_rls_quotas'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('organization.created', 'Organization created'), ('organization.settings_changed', 'Organization settings changed'), ('organization.local_roots_changed', 'Local roots changed'), ('organization.git_credential_set', 'Git credential set'), ('organization.git_credential_removed', 'Git credential removed'), ('organization.quota_changed', 'Quotas changed'), ('member.added', 'Member added'), ('member.invited', 'Member invited'), ('member.invite_accepted', 'Member set their password'), ('member.role_changed', "Member's role changed"), ('member.deactivated', 'Member deactivated'), ('member.reactivated', 'Member reactivated'), ('token.issued', 'API token issued'), ('token.revoked', 'API token revoked'), ('session.created', 'Session created'), ('session.stopped', 'Session stopped'), ('platform.bypass', 'Tenant bypass used'), ('template.created', 'Session template created'), ('template.changed', 'Session template changed (a new version)'), ('template.archived', 'Session template archived'), ('template.restored', 'Session template restored'), ('template.deleted', 'Session template deleted')], max_length=60),
        ),
    ]
