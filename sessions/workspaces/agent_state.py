"""Each session's own Claude state folder (Claude Code's config and transcripts), outside its
workspace: AGENT_CONFIG_DIR/<organization id>/<session id>. No session sees another's, so
none can read or resume another's conversation; it goes when the workspace goes."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings

from .paths import resolve_inside


def agent_state_path(*, organization_id, session_id) -> Path:
    root = Path(settings.AGENT_CONFIG_DIR).resolve()
    # Both ids are UUIDs: their text form cannot hold a separator or a '..'.
    parts = [str(uuid.UUID(str(organization_id))), str(uuid.UUID(str(session_id)))]
    return resolve_inside(root.joinpath(*parts), [root])


def make_agent_state(*, organization_id, session_id) -> Path:
    path = agent_state_path(organization_id=organization_id, session_id=session_id)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def remove_agent_state(*, organization_id, session_id) -> bool:
    path = agent_state_path(organization_id=organization_id, session_id=session_id)
    if not path.exists():
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True
