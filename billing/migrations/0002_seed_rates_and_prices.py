"""The starting rates and prices (billing/seed.py), in force from 2025-01-01."""

from django.db import migrations

from billing import seed
from tenants.context import Scope, entered


def install(apps, schema_editor):
    # Platform rows: only the bypass writes them (the owner is held to row-level security
    # too). A migration is the operators' own work, recorded in django_migrations.
    with entered(Scope(bypass=True)):
        seed.install(apps.get_model("billing", "ToolRate"), apps.get_model("billing", "ModelPrice"))


def remove(apps, schema_editor):
    with entered(Scope(bypass=True)):
        for model in ("ToolRate", "ModelPrice"):
            apps.get_model("billing", model).objects.filter(effective_from=seed.SINCE).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
