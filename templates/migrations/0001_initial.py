# Session templates, their versions and launches; row-level security on all three
# (PostgreSQL only; see tenants/rls.py).

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models

from tenants.rls import EnableRowLevelSecurity, scoped_foreign_key


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('agent_sessions', '0009_rls_organization'),
        ('tenants', '0009_rls_quotas'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SessionTemplate',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('slug', models.SlugField(max_length=60)),
                ('name', models.CharField(max_length=200)),
                ('description', models.TextField(blank=True)),
                ('scope', models.CharField(choices=[('platform', 'Platform (every organization)'), ('organization', 'Organization'), ('personal', 'Personal')], max_length=20)),
                ('latest_version', models.PositiveIntegerField(default=0)),
                ('archived_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('creator', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.organization')),
            ],
            options={
                'ordering': ['scope', 'name'],
            },
        ),
        migrations.CreateModel(
            name='TemplateVersion',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('number', models.PositiveIntegerField()),
                ('name', models.CharField(max_length=200)),
                ('description', models.TextField(blank=True)),
                ('config', models.JSONField(default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.organization')),
                ('template', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='session_templates.sessiontemplate')),
            ],
            options={
                'ordering': ['template', '-number'],
            },
        ),
        migrations.CreateModel(
            name='TemplateLaunch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('variables', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('organization', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.organization')),
                ('session', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='template_launch', to='agent_sessions.session')),
                ('template', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='session_templates.sessiontemplate')),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='launches', to='session_templates.templateversion')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddConstraint(
            model_name='sessiontemplate',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('organization__isnull', True), ('scope', 'platform')), models.Q(models.Q(('scope', 'platform'), _negated=True), ('organization__isnull', False)), _connector='OR'), name='template_platform_has_no_organization'),
        ),
        migrations.AddConstraint(
            model_name='sessiontemplate',
            constraint=models.UniqueConstraint(condition=models.Q(('scope', 'platform')), fields=('slug',), name='template_platform_slug_unique'),
        ),
        migrations.AddConstraint(
            model_name='sessiontemplate',
            constraint=models.UniqueConstraint(condition=models.Q(('scope', 'organization')), fields=('organization', 'slug'), name='template_organization_slug_unique'),
        ),
        migrations.AddConstraint(
            model_name='sessiontemplate',
            constraint=models.UniqueConstraint(condition=models.Q(('scope', 'personal')), fields=('creator', 'slug'), name='template_personal_slug_unique'),
        ),
        migrations.AddConstraint(
            model_name='sessiontemplate',
            constraint=models.UniqueConstraint(fields=('id', 'organization'), name='template_id_org_unique'),
        ),
        migrations.AddConstraint(
            model_name='templateversion',
            constraint=models.UniqueConstraint(fields=('template', 'number'), name='template_version_once'),
        ),
        migrations.AddIndex(
            model_name='templatelaunch',
            index=models.Index(fields=['template', 'organization'], name='launch_template_org'),
        ),
        # Platform templates and their versions have no organization: shared with every
        # organization's context for reading; only the operators' bypass writes them.
        EnableRowLevelSecurity('session_templates_sessiontemplate', column='organization_id', shared_when_null=True),
        EnableRowLevelSecurity('session_templates_templateversion', column='organization_id', shared_when_null=True),
        EnableRowLevelSecurity('session_templates_templatelaunch', column='organization_id'),
        scoped_foreign_key('session_templates_templateversion', 'session_templates_sessiontemplate', column='template_id'),
        scoped_foreign_key('session_templates_templatelaunch', 'agent_sessions_session'),
    ]
