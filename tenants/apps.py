from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organizations and users"

    def ready(self) -> None:
        post_migrate.connect(grant_after_migrate, sender=self)


def grant_after_migrate(*, using: str = "default", **kwargs) -> None:
    """After `migrate` (run as the owner), the application role may use every table, now and
    to come. Nothing to do on SQLite, or when one role does both."""
    from django.conf import settings
    from django.db import connections

    from .db_roles import grant_app_role, role_of

    connection = connections[using]
    app_role = role_of(settings.DATABASE_APP_URL)[0] if settings.DATABASE_APP_URL else ""
    if connection.vendor != "postgresql" or not app_role:
        return
    if app_role == connection.settings_dict.get("USER"):
        return
    with connection.cursor() as cursor:
        grant_app_role(cursor, app_role)
