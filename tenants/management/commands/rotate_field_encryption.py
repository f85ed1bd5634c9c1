"""Re-encrypt stored secrets with the first of FIELD_ENCRYPTION_KEYS (after adding a key)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tenants import services


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        count = services.rotate_encrypted_secrets()
        self.stdout.write(f"Re-encrypted {count} secret(s) with the current key.")
