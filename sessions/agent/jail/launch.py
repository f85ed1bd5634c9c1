"""Starts Claude Code for the SDK, with nothing of the server's environment.

The SDK runs this (through the small shell wrapper `jail.launcher_path()` writes) as if it
were the Claude Code CLI, with the CLI's arguments and an environment that holds the server's
own. It reads what to run from ORCHESTRATOR_AGENT_LAUNCH and replaces itself with bubblewrap,
or with the CLI when the session runs unsandboxed, under an environment built from an
allow-list: the agent's own variables plus the SDK's protocol variables, nothing else.

bubblewrap gets an empty environment of its own (it stays the jail's process 1, and
/proc/1/environ is readable inside) and its options through a memfd (`--args`), so neither
the agent's variables nor the host paths it binds show in /proc/1/cmdline or the host's `ps`;
only the command does.
Standard library only: it runs before Django, under `python -I`.
"""

from __future__ import annotations

import json
import os
import sys

SPEC_VARIABLE = "ORCHESTRATOR_AGENT_LAUNCH"
# Variables the SDK sets for the CLI on each start: its protocol, not the server's settings.
SDK_VARIABLES = frozenset(
    {
        "CLAUDE_CODE_ENTRYPOINT",
        "CLAUDE_CODE_SDK_READS_SESSION_STATE",
        "CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING",
        "CLAUDE_AGENT_SDK_VERSION",
        "CLAUDE_AGENT_SDK_CLIENT_APP",
    }
)


def agent_environment(spec: dict, inherited: dict[str, str]) -> dict[str, str]:
    sdk = {name: value for name, value in inherited.items() if name in SDK_VARIABLES}
    return {**sdk, **spec["env"]}


def bubblewrap_options(spec: dict, env: dict[str, str]) -> list[str]:
    setenv = [part for name, value in env.items() for part in ("--setenv", name, value)]
    return [*spec["bwrap_args"], *setenv]


def _arguments_fd(arguments: list[str]) -> int:
    fd = os.memfd_create("bwrap-args", 0)
    os.write(fd, b"".join(argument.encode() + b"\0" for argument in arguments))
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    return fd


def main(cli_args: list[str]) -> None:
    spec = json.loads(os.environ[SPEC_VARIABLE])
    env = agent_environment(spec, dict(os.environ))
    if not spec.get("bwrap"):
        os.execve(spec["command"][0], [*spec["command"], *cli_args], env)
    # The options (binds and the agent's variables) through the memfd; bubblewrap wants the
    # command itself on its real command line.
    fd = _arguments_fd(bubblewrap_options(spec, env))
    command = [*spec["command"], *cli_args]
    os.execve(spec["bwrap"], [spec["bwrap"], "--args", str(fd), "--", *command], {})


if __name__ == "__main__":
    main(sys.argv[1:])
