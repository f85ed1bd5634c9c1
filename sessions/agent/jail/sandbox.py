"""Whether and how a turn's Claude Code is jailed, and the arguments that say so.

The jail is bubblewrap with an allow-list: read-only /usr (and the /bin, /lib links into
it), a few files of /etc, the Claude Code binary, the jail's init, its Unix sockets out, and
read-write only the session's workspace (/workspace) and its own Claude state folder
(/home/agent/.claude). Everything else (DATA_DIR, other workspaces, the database, the
project's source, the server's processes and environment, the host's network) is absent, not
hidden: what is not bound does not exist inside. Every namespace is new (user, PID, network,
IPC, UTS, cgroup), the agent is uid 1000 with no capabilities and no new privileges, and the
jail dies with its parent.
"""

from __future__ import annotations

import functools
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import claude_agent_sdk
from django.conf import settings

from . import JAIL_WORKSPACE, launch
from . import init as jail_init

AGENT_UID = 1000
JAIL_HOME = "/home/agent"
JAIL_STATE = f"{JAIL_HOME}/.claude"
JAIL_CLI = "/opt/claude/claude"
JAIL_INIT = "/opt/orchestrator/init.py"
JAIL_RUN = "/run/orchestrator"
JAIL_PYTHON = "/usr/bin/python3"
JAIL_PATH = "/usr/local/bin:/usr/bin:/bin"
# Top-level names that merged-/usr systems make links into /usr; bound as they are on the host.
USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Read-only files of /etc that tools need (TLS roots, time zone, alternatives); no secrets.
ETC_FILES = ("ssl", "ca-certificates", "pki", "alternatives", "localtime", "mime.types")


class SandboxUnavailable(RuntimeError):
    """AGENT_SANDBOX=required and the jail cannot run here."""


@dataclass(frozen=True)
class Forward:
    """A loopback port inside the jail carried to a Unix socket served outside."""

    port: int
    socket_name: str


@dataclass(frozen=True)
class JailSpec:
    workspace: Path
    state_dir: Path
    run_dir: Path  # the turn's private folder outside: stub /etc files and the sockets
    forwards: tuple[Forward, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def should_jail() -> bool:
    """Whether this turn runs jailed; raises SandboxUnavailable when it must and cannot."""
    mode = settings.AGENT_SANDBOX
    if mode == "off":
        return False
    problem = unavailable_reason()
    if problem is None:
        return True
    if mode == "required":
        raise SandboxUnavailable(
            f"AGENT_SANDBOX=required, but the agent's jail cannot run here: {problem}. "
            "Install bubblewrap (apt-get install bubblewrap) or set AGENT_SANDBOX=auto."
        )
    return False


def unavailable_reason() -> str | None:
    """Why bubblewrap cannot jail the agent on this machine, or None when it can."""
    return _probe(settings.AGENT_BWRAP)


def bwrap_path() -> str | None:
    return shutil.which(settings.AGENT_BWRAP)


@functools.cache
def _probe(bwrap_setting: str) -> str | None:
    """Probed once per process and setting: a real jail running `true`."""
    bwrap = shutil.which(bwrap_setting)
    if bwrap is None:
        return f"bubblewrap ({bwrap_setting}) is not installed"
    if not Path(JAIL_PYTHON).exists():
        return f"{JAIL_PYTHON} (the jail's init) is missing"
    probe = [bwrap, "--unshare-all", "--uid", str(AGENT_UID), *_usr_arguments(), "--", "true"]
    try:
        subprocess.run(probe, env={}, capture_output=True, check=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return f"bubblewrap cannot make a jail here ({detail.decode(errors='replace').strip()})"
    return None


def bundled_cli() -> Path:
    return (Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude").resolve()


def launch_spec(spec: JailSpec | None, *, env: dict[str, str] | None = None) -> dict:
    """What `launch.py` runs: bubblewrap with the jail, or (no spec) the CLI itself with
    `env`."""
    if spec is None:
        return {"bwrap": "", "command": [str(bundled_cli())], "env": env or {}}
    command = [JAIL_PYTHON, "-I", JAIL_INIT]
    for forward in spec.forwards:
        command += ["--forward", f"{forward.port}={JAIL_RUN}/{forward.socket_name}"]
    return {
        "bwrap": bwrap_path(),
        "bwrap_args": bwrap_arguments(spec),
        "command": [*command, "--", JAIL_CLI],
        "env": spec.env,
    }


def bwrap_arguments(spec: JailSpec) -> list[str]:
    _write_stub_etc(spec.run_dir)
    return [
        "--new-session",
        "--die-with-parent",
        "--unshare-all",
        "--uid",
        str(AGENT_UID),
        "--gid",
        str(AGENT_UID),
        "--hostname",
        "agent",
        "--cap-drop",
        "ALL",
        "--clearenv",
        *_usr_arguments(),
        *_etc_arguments(spec.run_dir),
        *("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", JAIL_HOME),
        *("--bind", str(spec.state_dir.resolve()), JAIL_STATE),
        *("--bind", str(spec.workspace.resolve()), JAIL_WORKSPACE),
        *("--ro-bind", str(bundled_cli()), JAIL_CLI),
        *("--ro-bind", str(Path(jail_init.__file__).resolve()), JAIL_INIT),
        *("--ro-bind", str(spec.run_dir / "sockets"), JAIL_RUN),
        *("--chdir", JAIL_WORKSPACE),
    ]


def _usr_arguments() -> list[str]:
    arguments = ["--ro-bind", "/usr", "/usr"]
    for name in USR_LINKS:
        host = Path("/") / name
        if host.is_symlink():
            arguments += ["--symlink", str(host.readlink()), f"/{name}"]
        elif host.is_dir():
            arguments += ["--ro-bind", str(host), f"/{name}"]
    return arguments


def _etc_arguments(run_dir: Path) -> list[str]:
    arguments = []
    for name in ETC_FILES:
        arguments += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for name in ("passwd", "group", "hosts", "nsswitch.conf"):
        arguments += ["--ro-bind", str(run_dir / "etc" / name), f"/etc/{name}"]
    return arguments


def _write_stub_etc(run_dir: Path) -> None:
    """Who the agent is and how names resolve, without the host's own files."""
    etc = run_dir / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (run_dir / "sockets").mkdir(exist_ok=True)
    files = {
        "passwd": f"agent:x:{AGENT_UID}:{AGENT_UID}:agent:{JAIL_HOME}:/bin/sh\n",
        "group": f"agent:x:{AGENT_UID}:\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
    }
    for name, text in files.items():
        (etc / name).write_text(text)


def launcher_path() -> Path:
    """The executable the SDK starts in place of the CLI: a two-line shell script running
    `launch.py` under this Python, written where the agent never sees it."""
    python, launcher = sys.executable, str(Path(launch.__file__).resolve())
    script = f'#!/bin/sh\nexec {shlex.quote(python)} -I {shlex.quote(launcher)} "$@"\n'
    path = Path(settings.DATA_DIR) / "agent" / "claude-launcher"
    if not path.exists() or path.read_text() != script:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Turns start in parallel: each writes its own file and renames it into place.
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as staged:
            staged.write(script)
        Path(staged.name).chmod(0o700)
        Path(staged.name).replace(path)
    return path


def launch_environment(launch_spec_: dict) -> dict[str, str]:
    """The SDK's `env` option: only the launch description (the SDK adds the server's own
    environment, which the launcher drops)."""
    return {launch.SPEC_VARIABLE: json.dumps(launch_spec_)}
