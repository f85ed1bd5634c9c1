# The built-in templates (scope platform): code-review, refactor-typescript,
# dependency-update, fix-failing-ci, write-tests, security-audit (templates/builtins.py).

from django.db import migrations

from templates import builtins
from tenants.context import Scope, entered


def install(apps, schema_editor):
    # Platform rows: only the bypass writes them (the owner is held to row-level security
    # too). A migration is the operators' own work, recorded in django_migrations.
    with entered(Scope(bypass=True)):
        builtins.install(
            apps.get_model('session_templates', 'SessionTemplate'),
            apps.get_model('session_templates', 'TemplateVersion'),
        )


def remove(apps, schema_editor):
    slugs = [b['slug'] for b in builtins.BUILTINS]
    with entered(Scope(bypass=True)):
        apps.get_model('session_templates', 'SessionTemplate').objects.filter(
            scope='platform', slug__in=slugs
        ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('session_templates', '0001_initial'),
    ]

    operations = [migrations.RunPython(install, remove)]
