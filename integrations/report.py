"""What the pull request's comment says: a link to the live session at start; after each
turn the assistant's summary, the files changed (`git diff --stat` of the workspace), tokens,
cost and duration. The same comment is edited turn after turn."""

from __future__ import annotations

import os
import subprocess
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from sessions.choices import Direction
from sessions.models import Session

MARKER = "<!-- claude-orchestrator -->"
SUMMARY_MAX = 3000
STAT_MAX = 3000
GIT_TIMEOUT = 20  # seconds; a diff stat of a workspace


def session_link(session: Session) -> str:
    return f"{settings.PUBLIC_URL}/sessions/{session.pk}/"


def _heading(session: Session) -> str:
    scripted = " (scripted demo model)" if session.scripted_model else ""
    return f"{MARKER}\n**claude-orchestrator**{scripted}: [{session.name}]({session_link(session)})"


def started(session: Session) -> str:
    return (
        f"{_heading(session)}\n\n"
        "A session started on this pull request; follow it live at the link above."
    )


def finished(session: Session, turn: dict, *, status: str) -> str:
    summary = (turn.get("summary") or "(no summary)")[:SUMMARY_MAX]
    stat = (turn.get("diff_stat") or "").strip()[:STAT_MAX]
    files = f"```\n{stat}\n```" if stat else "No files changed."
    cost = Decimal(str(turn.get("cost_usd") or 0)).quantize(Decimal("0.0001"))
    seconds = int(turn.get("duration_ms") or 0) / 1000
    opened = ""
    if turn.get("pull_request"):
        opened = f"\n\n**Pull request with the changes**: {turn['pull_request']}"
    elif turn.get("push_error"):
        opened = f"\n\n**Changes not pushed**: {str(turn['push_error'])[:500]}"
    lines = [
        _heading(session),
        "",
        f"**Status**: {status}{opened}",
        "",
        summary,
        "",
        "**Files changed**",
        "",
        files,
        "",
        f"**Tokens**: {int(turn.get('input_tokens') or 0):,} in, "
        f"{int(turn.get('output_tokens') or 0):,} out · **Cost**: ${cost} (session total) · "
        f"**Duration**: {seconds:.1f} s",
    ]
    return "\n".join(lines)


def last_summary(session: Session) -> str:
    message = (
        session.messages.filter(direction=Direction.ASSISTANT)
        .order_by("-seq")
        .only("content")
        .first()
    )
    return message.content if message else ""


def diff_stat(session: Session) -> str:
    """`git diff --stat` of the workspace against its checkout, plus untracked files; "" when
    there is no workspace (or it is not a git repository)."""
    path = Path(session.project_path) if session.project_path else None
    if path is None or not (path / ".git").exists():
        return ""
    stat = _git(path, ["diff", "--stat", "HEAD"])
    untracked = _git(path, ["ls-files", "--others", "--exclude-standard"]).split("\n")
    new = [f" {name} (new)" for name in untracked if name.strip()]
    return "\n".join(part for part in (stat.rstrip(), *new) if part)


def _git(path: Path, args: list[str]) -> str:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
        "HOME": str(path),
    }
    # The workspace belongs to the jail's user: git's ownership check would refuse it.
    command = ["git", "-c", f"safe.directory={path}", "--no-pager", *args]
    try:
        result = subprocess.run(
            command,
            cwd=path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout if result.returncode == 0 else ""
