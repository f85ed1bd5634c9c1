"""Checks of what operators and admins set on an organization; each raises a field error."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

MAX_LOCAL_ROOTS = 50
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")
_USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,100}$")


def validate_local_roots(roots: list) -> list[str]:
    """The grants, resolved: each an absolute folder inside LOCAL_PROJECT_ROOTS and outside
    DATA_DIR (so no grant ever reaches another organization's workspace)."""
    if not isinstance(roots, list) or len(roots) > MAX_LOCAL_ROOTS:
        raise ValidationError({"local_roots": f"Give a list of at most {MAX_LOCAL_ROOTS} folders."})
    resolved = []
    for root in roots:
        problem = _local_root_problem(root)
        if problem:
            raise ValidationError({"local_roots": f"{root!r}: {problem}"})
        resolved.append(str(Path(root).resolve()))
    return list(dict.fromkeys(resolved))


def _local_root_problem(root) -> str:
    if not isinstance(root, str) or not root or "\x00" in root or len(root) > 1000:
        return "not a folder path."
    path = Path(root)
    if not path.is_absolute() or ".." in path.parts:
        return "give an absolute path without '..'."
    try:
        resolved = path.resolve()  # a symlink is judged by where it leads
    except (OSError, RuntimeError, ValueError):  # a loop of links, an unstorable name
        return "not a folder path."
    if any(is_inside(resolved, data) for data in server_folders()):
        return "inside DATA_DIR, where every session's workspace lives; never grantable."
    bounds = settings.LOCAL_PROJECT_ROOTS
    if not any(is_inside(resolved, Path(bound).resolve()) for bound in bounds):
        return "outside LOCAL_PROJECT_ROOTS, the operator's bound for local folders" + (
            "." if bounds else " (empty on this server)."
        )
    return ""


def is_inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def server_folders() -> list[Path]:
    folders = [settings.DATA_DIR, settings.WORKSPACES_DIR, settings.AGENT_CONFIG_DIR]
    return [Path(folder).resolve() for folder in folders]


def validate_git_credential(*, token: str, username: str, host: str = "") -> dict:
    """The cleaned credential fields; the host (default: GIT_BASE_URL's) must be one sessions
    may clone from."""
    if not isinstance(token, str) or not token.strip() or len(token) > 4096:
        raise ValidationError({"token": "Give the token (at most 4096 characters)."})
    if not token.strip().isascii() or not token.strip().isprintable() or " " in token.strip():
        raise ValidationError({"token": "A token is printable ASCII without spaces."})
    if not _USERNAME.match(username):
        raise ValidationError({"username": "Letters, digits and . _ @ + - only."})
    host = (host or urlsplit(settings.GIT_BASE_URL).hostname or "").lower().rstrip(".")
    allowed = {h.lower().rstrip(".") for h in settings.GIT_ALLOWED_HOSTS}
    if not _HOST.match(host) or host not in allowed:
        raise ValidationError(
            {"host": f"Must be one of GIT_ALLOWED_HOSTS: {', '.join(sorted(allowed)) or 'none'}."}
        )
    return {"token": token.strip(), "username": username, "host": host}
