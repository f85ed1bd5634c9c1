from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0002_idempotency_keys'),
    ]

    operations = [
        migrations.AddField(
            model_name='organization',
            name='local_roots',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='organization',
            name='git_credential_encrypted',
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name='organization',
            name='git_credential_host',
            field=models.CharField(blank=True, max_length=253),
        ),
        migrations.AddField(
            model_name='organization',
            name='git_credential_username',
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
