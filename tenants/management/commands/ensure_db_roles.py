"""`manage.py ensure_db_roles --superuser-url postgres://postgres@host/postgres`: create the
owner role (DATABASE_OWNER_URL), the application role (DATABASE_URL) and the database when
missing. Run it once as a PostgreSQL superuser, then `manage.py migrate` (as the owner)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tenants.db_roles import ensure_roles


class Command(BaseCommand):
    help = "Create the owner and application PostgreSQL roles and the database when missing."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--superuser-url",
            default=os.environ.get("DATABASE_SUPERUSER_URL", ""),
            help="A PostgreSQL superuser's URL (default: DATABASE_SUPERUSER_URL).",
        )

    def handle(self, *args, superuser_url: str, **options) -> None:
        app_url = os.environ.get("DATABASE_URL", "")
        if not superuser_url or not app_url or not settings.DATABASE_OWNER_URL:
            raise CommandError(
                "Set DATABASE_URL (the application), DATABASE_OWNER_URL (the owner) and "
                "--superuser-url or DATABASE_SUPERUSER_URL."
            )
        try:
            done = ensure_roles(
                superuser_url, app_url=app_url, owner_url=settings.DATABASE_OWNER_URL
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for line in done or ["roles and database already there"]:
            self.stdout.write(line)
