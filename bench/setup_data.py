"""What the benchmark needs before measuring: a migrated database, an organization with a
user and its API token, and a 10,000-file git repository for the session-start benchmark."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from bench.server import ROOT

REPO_FILES = 10_000
FILES_PER_FOLDER = 100
BENCH_ORG = "bench"


def migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py migrate failed:\n{result.stdout}\n{result.stderr}")


def create_api_token(env: dict[str, str]) -> str:
    """An organization member's DRF token, made through Django in this process.

    Django reads its settings from the environment once, so this process takes the server's
    environment first; it is the only Django work the benchmark process does."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from tenants import services
    from tenants.choices import Role
    from tenants.models import Organization

    organization, _ = Organization.objects.get_or_create(
        slug=BENCH_ORG, defaults={"name": "Benchmarks"}
    )
    # The session-start benchmark's repository is in the projects folder: grant it.
    services.set_local_roots(
        organization=organization,
        actor=None,
        roots=[str(root) for root in settings.LOCAL_PROJECT_ROOTS],
    )
    user = services.create_user(
        organization=organization,
        actor=None,
        username=f"bench-{secrets.token_hex(4)}",
        password=secrets.token_urlsafe(16),
        role=Role.USER,
    )
    _, token = services.issue_api_token(user=user, name="benchmark")
    connections.close_all()  # SQLite: hold no handle while the server writes
    return token


def build_repository(parent: Path, files: int = REPO_FILES) -> Path:
    """A git repository of `files` small files in one commit, inside `parent`."""
    repo = parent / "project"
    for index in range(files):
        folder = repo / f"pkg{index // FILES_PER_FOLDER:03d}"
        if index % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True)
        (folder / f"module{index % FILES_PER_FOLDER:03d}.py").write_text(
            f'"""Module {index}."""\n\nVALUE = {index}\n'
        )
    _git(repo, "init", "--quiet")
    _git(repo, "add", "--all")
    _git(
        repo,
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@localhost",
        "-c",
        "commit.gpgsign=false",
        "commit",
        "--quiet",
        "-m",
        f"{files} files",
    )
    return repo


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
