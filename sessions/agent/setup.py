"""What a turn's Claude Code starts with: its environment, built from an allow-list (never
the server's), its own Claude state folder, and when jailed, the jail and its ways out."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from ..models import Session
from ..workspaces.agent_state import make_agent_state
from .jail import egress, sandbox
from .model_backend import model_env

DEFAULT_MODEL_URL = "https://api.anthropic.com"
PROXY_PORTS = (3128, 3129)  # the second when the model itself listens on the first
PRIVILEGED_PORTS = 1024


@dataclass(frozen=True)
class AgentSetup:
    launch: dict  # what jail/launch.py runs
    jailed: bool
    model_pipe: egress.Endpoint | None = None  # a loopback model endpoint piped into the jail
    allowed: frozenset[egress.Endpoint] = frozenset()  # what the egress proxy tunnels to
    sockets: Path | None = None


def prepare(session: Session, *, jailed: bool, run_dir: Path, permission_mode: str) -> AgentSetup:
    state = make_agent_state(organization_id=session.organization_id, session_id=session.pk)
    model = model_env(scripted=session.scripted_model)
    env = {**_base_env(permission_mode), **model}
    if not jailed:
        env.update(HOME=str(state), CLAUDE_CONFIG_DIR=str(state), PATH=_host_path())
        return AgentSetup(launch=sandbox.launch_spec(None, env=env), jailed=False)
    pipe = _loopback_endpoint(model.get("ANTHROPIC_BASE_URL", ""))
    inside = _port_inside(pipe.port) if pipe else 0
    proxy_port = PROXY_PORTS[1] if inside == PROXY_PORTS[0] else PROXY_PORTS[0]
    forwards = [sandbox.Forward(proxy_port, egress.EGRESS_SOCKET)]
    if pipe is not None:
        forwards.append(sandbox.Forward(inside, egress.MODEL_SOCKET))
        env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{inside}"
    env.update(_proxy_env(proxy_port))
    spec = sandbox.JailSpec(
        workspace=Path(session.project_path),
        state_dir=state,
        run_dir=run_dir,
        forwards=tuple(forwards),
        env={
            **env,
            "HOME": sandbox.JAIL_HOME,
            "CLAUDE_CONFIG_DIR": sandbox.JAIL_STATE,
            "PATH": sandbox.JAIL_PATH,
        },
    )
    return AgentSetup(
        launch=sandbox.launch_spec(spec),
        jailed=True,
        model_pipe=pipe,
        allowed=_allowed_endpoints(model.get("ANTHROPIC_BASE_URL", "")),
        sockets=run_dir / "sockets",
    )


def _base_env(permission_mode: str) -> dict[str, str]:
    env = {
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "USER": "agent",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    if settings.AGENT_API_MAX_RETRIES:
        env["CLAUDE_CODE_MAX_RETRIES"] = settings.AGENT_API_MAX_RETRIES
    if permission_mode == "bypassPermissions":
        # Claude Code refuses it as root unless told it runs in a sandbox.
        env["IS_SANDBOX"] = "1"
    return env


def _host_path() -> str:
    # Unjailed, tools still need to be found; the search path is not a secret.
    return os.environ.get("PATH", sandbox.JAIL_PATH)


def _port_inside(port: int) -> int:
    """Where the jail reaches a loopback model endpoint: its own port, unless only root may
    listen there (the agent is not root); those move up out of the privileged range."""
    return port if port >= PRIVILEGED_PORTS else PRIVILEGED_PORTS + 40000 + port


def _proxy_env(port: int) -> dict[str, str]:
    proxy = f"http://127.0.0.1:{port}"
    return {
        "HTTPS_PROXY": proxy,
        "HTTP_PROXY": proxy,
        "https_proxy": proxy,
        "http_proxy": proxy,
        # The loopback model endpoint is piped in directly, at its own address.
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "no_proxy": "127.0.0.1,localhost,::1",
    }


def _loopback_endpoint(url: str) -> egress.Endpoint | None:
    """The model endpoint when it is plain HTTP on this machine's loopback."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return None
    host = parts.hostname
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return None
        except ValueError:
            return None
    return egress.Endpoint("127.0.0.1" if host == "localhost" else host, parts.port or 80)


def _allowed_endpoints(model_url: str) -> frozenset[egress.Endpoint]:
    allowed = {egress.parse_endpoint(value) for value in settings.AGENT_EGRESS_ALLOWED_HOSTS}
    parts = urlsplit(model_url or DEFAULT_MODEL_URL)
    if _loopback_endpoint(model_url) is None and parts.hostname:
        default = 443 if parts.scheme == "https" else 80
        allowed.add(egress.Endpoint(parts.hostname.lower(), parts.port or default))
    return frozenset(allowed)
