# The integrations' tables: each carries its organization and is held by row-level security;
# keys between them (and to sessions) are composite, so no organization can attach a row to
# another's. A webhook knows only its integration's id before its signature is checked: the
# SECURITY DEFINER function below answers that one uuid (never a row), like the sessions'
# rls_session_organization.

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models

from tenants.rls import EnableRowLevelSecurity, PostgresOnlySQL, scoped_foreign_key

TABLES = ('integrations_integration', 'integrations_pullrequestthread', 'integrations_delivery')

INTEGRATION_ORGANIZATION = """
CREATE OR REPLACE FUNCTION rls_integration_organization(integration uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
    before text := coalesce(current_setting('app.rls_bypass', true), '');
    answer uuid;
BEGIN
    -- The bypass for this one read only: put back as it was before returning.
    PERFORM set_config('app.rls_bypass', 'on', true);
    SELECT organization_id INTO answer FROM integrations_integration WHERE id = integration;
    PERFORM set_config('app.rls_bypass', before, true);
    RETURN answer;
END
$$
"""


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('agent_sessions', '0010_hook_rate_window'),
        ('tenants', '0010_template_audit_actions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Integration',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('provider', models.CharField(choices=[('github', 'GitHub'), ('gitlab', 'GitLab')], max_length=10)),
                ('api_url', models.URLField(max_length=500)),
                ('repository', models.CharField(max_length=300)),
                ('clone_url', models.CharField(blank=True, max_length=500)),
                ('webhook_secret_encrypted', models.TextField(editable=False)),
                ('api_token_encrypted', models.TextField(blank=True, editable=False)),
                ('pull_request_template', models.CharField(blank=True, max_length=60)),
                ('ci_failure_template', models.CharField(blank=True, max_length=60)),
                ('mention_handle', models.CharField(blank=True, default='@claude', max_length=100)),
                ('enabled', models.BooleanField(default=True)),
                ('last_delivery_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='integrations', to='tenants.organization')),
            ],
            options={
                'ordering': ['provider', 'repository'],
            },
        ),
        migrations.CreateModel(
            name='PullRequestThread',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('number', models.PositiveBigIntegerField(help_text="The PR number or the MR's iid.")),
                ('title', models.CharField(blank=True, max_length=500)),
                ('branch', models.CharField(blank=True, max_length=255)),
                ('comment_id', models.CharField(blank=True, max_length=40)),
                ('comment_error', models.TextField(blank=True)),
                ('pushed_branch', models.CharField(blank=True, max_length=255)),
                ('opened_pull_request', models.CharField(blank=True, max_length=500)),
                ('pending', models.JSONField(blank=True, default=list)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='threads', to='integrations.integration')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.organization')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='agent_sessions.session')),
            ],
            options={
                'ordering': ['-updated_at'],
            },
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('delivery_key', models.CharField(blank=True, max_length=100)),
                ('event', models.CharField(blank=True, max_length=100)),
                ('action', models.CharField(blank=True, max_length=100)),
                ('signature_ok', models.BooleanField(default=False)),
                ('outcome', models.CharField(choices=[('queued', 'Queued'), ('started', 'Started a session'), ('continued', 'Sent to the session'), ('waiting', "Waiting for the session's turn to end"), ('ignored', 'Ignored'), ('unsupported', 'Unsupported event'), ('ping', 'Ping'), ('refused', 'Signature refused'), ('failed', 'Failed')], default='queued', max_length=20)),
                ('detail', models.TextField(blank=True)),
                ('trigger', models.JSONField(blank=True, default=dict)),
                ('received_at', models.DateTimeField(auto_now_add=True)),
                ('handled_at', models.DateTimeField(blank=True, null=True)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.organization')),
                ('session', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='agent_sessions.session')),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='integrations.integration')),
                ('thread', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='integrations.pullrequestthread')),
            ],
            options={
                'verbose_name_plural': 'deliveries',
                'ordering': ['-received_at'],
            },
        ),
        migrations.AddConstraint(
            model_name='integration',
            constraint=models.UniqueConstraint(fields=('organization', 'provider', 'api_url', 'repository'), name='integrations_one_per_repository'),
        ),
        migrations.AddConstraint(
            model_name='integration',
            constraint=models.UniqueConstraint(fields=('id', 'organization'), name='integration_id_org'),
        ),
        migrations.AddConstraint(
            model_name='pullrequestthread',
            constraint=models.UniqueConstraint(fields=('integration', 'number'), name='integrations_one_thread'),
        ),
        migrations.AddConstraint(
            model_name='pullrequestthread',
            constraint=models.UniqueConstraint(fields=('id', 'organization'), name='thread_id_org'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['integration', '-received_at'], name='integr_delivery_recent'),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(condition=models.Q(('signature_ok', True), models.Q(('delivery_key', ''), _negated=True)), fields=('integration', 'delivery_key'), name='integrations_delivery_once'),
        ),
        scoped_foreign_key('integrations_pullrequestthread', 'integrations_integration', 'integration_id'),
        scoped_foreign_key('integrations_pullrequestthread', 'agent_sessions_session', 'session_id'),
        scoped_foreign_key('integrations_delivery', 'integrations_integration', 'integration_id'),
        scoped_foreign_key('integrations_delivery', 'integrations_pullrequestthread', 'thread_id'),
        scoped_foreign_key('integrations_delivery', 'agent_sessions_session', 'session_id'),
        *[EnableRowLevelSecurity(table, column='organization_id') for table in TABLES],
        PostgresOnlySQL(
            [INTEGRATION_ORGANIZATION],
            ['DROP FUNCTION IF EXISTS rls_integration_organization(uuid)'],
        ),
    ]
