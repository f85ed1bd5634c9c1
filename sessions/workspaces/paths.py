"""Keeping paths inside their roots: no `..`, no symlink that leads out."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class PathOutsideRoot(ValueError):
    pass


def resolve_inside(path: str | Path, roots: Iterable[Path]) -> Path:
    """The resolved path, if it lies inside one of `roots`; otherwise PathOutsideRoot.

    `..` is refused outright, even when it would land back inside, because a path that says
    one thing and means another has no place in a session record.
    """
    raw = Path(path)
    if not raw.is_absolute():
        raise PathOutsideRoot("Give an absolute path.")
    if ".." in raw.parts:
        raise PathOutsideRoot("The path may not contain '..'.")
    try:
        resolved = raw.resolve()  # follows symlinks, so a link pointing out is caught below
    except (OSError, RuntimeError, ValueError):  # a loop of links, a name no filesystem holds
        raise PathOutsideRoot("The path cannot be resolved.") from None
    for root in roots:
        if resolved == root or resolved.is_relative_to(root):
            return resolved
    raise PathOutsideRoot("The path is outside the allowed roots.")
