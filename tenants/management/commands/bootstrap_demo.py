"""Create (or refresh) the demo organization and its admin, and say how to log in."""

from __future__ import annotations

import os
import secrets

from django.core.management.base import BaseCommand

from tenants import services
from tenants.models import Organization

DEMO_SLUG = "demo"
DEMO_USERNAME = "demo-admin"


class Command(BaseCommand):
    help = "Create the demo organization and admin user; print how to log in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, url: str, **options) -> None:
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        organization, _ = Organization.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"name": "Demo organization"}
        )
        services.ensure_operator(
            organization=organization, username=DEMO_USERNAME, password=password
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo login: {DEMO_USERNAME} / {password}\n"
                f"  admin console  {url}/admin/\n"
                f"  API            {url}/api/\n"
                f"  API docs       {url}/api/docs/\n"
            )
        )
