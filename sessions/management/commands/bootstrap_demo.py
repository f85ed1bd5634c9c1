"""Create (or refresh) the demo organization, its admin and a demo session that really runs
Claude Code; say how to log in."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from sessions import services as session_services
from sessions.agent.dispatch import drain_embedded_turns
from sessions.choices import ProjectType, SessionStatus
from sessions.models import Session
from tenants import services as tenant_services
from tenants.tenancy import platform_bypass

DEMO_SLUG = "demo"
DEMO_USERNAME = "demo-admin"
DEMO_SESSION = "Demo session"
ACTIVE_RUN_STATUSES = (SessionStatus.PREPARING, SessionStatus.RUNNING)
# Answered by the scripted demo model's intents (README: "The scripted demo model"); a real
# model reads it the same way.
DEMO_PROMPT = (
    "Explain widgets.py, create test_widgets.py, run the tests, "
    "then add a line 'Tested with unittest.' to README.md"
)
# Outside DATA_DIR (no local root may be inside it); `make run` puts it in LOCAL_PROJECT_ROOTS.
DEMO_PROJECTS = settings.BASE_DIR / "demo-projects"


# `make run` serves with Django's development server; production serves the same application
# with the server the README's "Serving" section measured fastest.
PRODUCTION_NOTE = (
    "This is the embedded development setup. In production: PostgreSQL, Redis, Celery, and "
    "several server processes:\n"
    "  uvicorn orchestrator.asgi:application --workers 2 --loop uvloop --http httptools "
    "--lifespan off\n"
    "(README: 'Serving' and 'Production topology')."
)


class Command(BaseCommand):
    help = "Create the demo organization and admin user; print how to log in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--no-session", action="store_true", help="Skip the demo session.")
        parser.add_argument(
            "--projects",
            type=Path,
            default=DEMO_PROJECTS,
            help="The demo organization's local root (inside LOCAL_PROJECT_ROOTS); its demo "
            "repository is made there.",
        )

    def handle(self, *args, url: str, projects: Path, **options) -> None:
        # Creates an organization and its first rows: platform work, through the bypass.
        with platform_bypass("manage.py bootstrap_demo"):
            self._bootstrap(url=url, projects=projects, **options)

    def _bootstrap(self, *, url: str, projects: Path, **options) -> None:
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        organization = tenant_services.ensure_organization(slug=DEMO_SLUG, name="Demo organization")
        operator = tenant_services.ensure_operator(
            organization=organization, username=DEMO_USERNAME, password=password
        )
        granted = self._grant_demo_folder(organization, projects.resolve())
        if granted is not None and not options["no_session"]:
            self._demo_session(granted, operator, projects.resolve())
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo login: {DEMO_USERNAME} / {password}\n"
                f"  dashboard      {url}/\n"
                f"  admin console  {url}/admin/\n"
                f"  API            {url}/api/\n"
                f"  API docs       {url}/api/docs/\n"
            )
        )
        self.stdout.write(PRODUCTION_NOTE)

    def _grant_demo_folder(self, organization, projects: Path):
        """The demo organization's local root: its demo folder, as an operator would grant.
        The organization as granted, or None (said why) when the folder cannot be granted."""
        try:
            organization = tenant_services.set_local_roots(
                organization=organization, actor=None, roots=[str(projects)]
            )
        except ValidationError as exc:
            self.stdout.write(
                self.style.WARNING(
                    f"No demo session: {projects} cannot be the demo organization's local root "
                    f"({' '.join(exc.messages)}). Add it to LOCAL_PROJECT_ROOTS."
                )
            )
            return None
        projects.mkdir(parents=True, exist_ok=True)
        return organization

    def _demo_session(self, organization, operator, projects: Path) -> None:
        """Once per database: a session that really runs Claude Code on a small repository."""
        if Session.objects.for_org(organization).filter(name=DEMO_SESSION).exists():
            return
        repo = demo_repository(projects / "widgets")
        session = session_services.create_session(
            organization=organization,
            actor=operator,
            name=DEMO_SESSION,
            project_type=ProjectType.LOCAL,
            local_path=str(repo),
            initial_prompt=DEMO_PROMPT,
        )
        label = "scripted demo model" if session.scripted_model else "the Anthropic API"
        self.stdout.write(f"Demo session {session.pk} started on {label}.")
        if settings.AGENT_DISPATCH != "celery":
            session = wait_until_turn_ends(session.pk)
            drain_embedded_turns()
            self.stdout.write(
                f"Demo session {session.status}: {session.tool_call_count} tool calls."
            )


def demo_repository(path: Path) -> Path:
    """A tiny git repository for the demo session to clone."""
    if (path / ".git").exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    (path / "README.md").write_text("# widgets\n\nA demo project for claude-orchestrator.\n")
    (path / "widgets.py").write_text("def widget():\n    return 'widget'\n")
    identity = ["-c", "user.name=claude-orchestrator", "-c", "user.email=demo@localhost"]
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "Demo"]):
        subprocess.run(["git", *identity, *args], cwd=path, check=True, capture_output=True)
    return path


def wait_until_turn_ends(session_id, timeout: float = 180) -> Session:
    deadline = time.monotonic() + timeout
    while True:
        session = Session.objects.get(pk=session_id)
        if session.status not in ACTIVE_RUN_STATUSES or time.monotonic() > deadline:
            return session
        time.sleep(0.5)
