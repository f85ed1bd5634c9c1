"""`manage.py reconcile [--dry-run]`: the reconciler, by hand."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sessions.reconcile import reconcile


class Command(BaseCommand):
    help = "Remove orphaned or expired workspaces and end sessions with no live worker."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report, change nothing.")

    def handle(self, *args, dry_run: bool, **options) -> None:
        report = reconcile(actor="manage.py reconcile", dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for path in report.removed_workspaces:
            self.stdout.write(f"{verb} workspace {path}")
        verb = "would end" if dry_run else "ended"
        for session_id in report.failed_sessions:
            self.stdout.write(f"{verb} stuck session {session_id}")
        self.stdout.write(
            f"{len(report.removed_workspaces)} workspace(s), "
            f"{len(report.failed_sessions)} session(s)."
        )
