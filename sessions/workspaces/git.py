"""Running git for a clone with nothing of the server's: an environment built from an
allow-list, an empty HOME, no system or global config, no credential helper, no SSH agent,
only the one protocol the source needs, redirects off, the checked addresses pinned, and the
organization's credential (if any) passed in the environment and kept out of every message.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

DEFAULT_GIT_TIMEOUT = 600  # seconds; a large repository over a slow link needs minutes
_STDERR_LIMIT = 1000  # characters of git's stderr kept in a user-visible message
REDACTED = "[redacted]"


class GitError(Exception):
    """git failed; the message is safe to show (secrets redacted)."""


@dataclass(frozen=True)
class GitCredential:
    """An organization's token for its private repositories on one host."""

    host: str
    username: str
    token: str = field(repr=False)

    @property
    def basic(self) -> str:
        return base64.b64encode(f"{self.username}:{self.token}".encode()).decode()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of the token that could show up in git's output."""
        return (f"{self.username}:{self.token}", self.basic, self.token)


@dataclass(frozen=True)
class Git:
    """git for one source: `protocol` is the only one it may speak (https or file)."""

    protocol: str
    host: str = ""
    pinned: str = ""  # host:port:addresses, see GitSource.pinned
    credential: GitCredential | None = None

    def run(self, args: Sequence[str], *, what: str) -> subprocess.CompletedProcess:
        timeout = getattr(settings, "WORKSPACE_GIT_TIMEOUT", DEFAULT_GIT_TIMEOUT)
        with tempfile.TemporaryDirectory(prefix="git-home-") as home:
            try:
                result = subprocess.run(
                    ["git", *args],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                    env=self.environment(home),
                    stdin=subprocess.DEVNULL,
                )
            except FileNotFoundError as exc:
                raise GitError("git is not installed on this server.") from exc
            except subprocess.TimeoutExpired as exc:
                raise GitError(f"git could not {what}: gave up after {timeout} s.") from exc
        if result.returncode != 0:
            raise GitError(f"git could not {what}: {self.trim(result.stderr)}")
        return result

    def environment(self, home: str) -> dict[str, str]:
        env = {
            # PATH only says where git and its helpers are; nothing else of the server's.
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": home,
            # git's messages reach the user; one language so they read the same everywhere.
            "LC_ALL": "C",
            "LANG": "C",
            # Nobody is at a terminal; never wait for a password.
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ALLOW_PROTOCOL": self.protocol,
        }
        # In the environment rather than `-c`: the credential must not show in `ps`.
        config = self.config()
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def config(self) -> list[tuple[str, str]]:
        config = [
            ("credential.helper", ""),  # an empty value clears any helper list
            ("http.followRedirects", "false"),  # a redirect could lead to a refused address
            ("http.proxy", ""),
        ]
        if self.pinned:
            config.append(("http.curloptResolve", self.pinned))
        if settings.GIT_CA_BUNDLE:
            config.append(("http.sslCAInfo", str(settings.GIT_CA_BUNDLE)))
        if self.credential is not None and self.credential.host == self.host:
            config.append(("http.extraHeader", f"Authorization: Basic {self.credential.basic}"))
        return config

    def redact(self, text: str) -> str:
        if self.credential is not None:
            for secret in self.credential.secrets:
                if secret:
                    text = text.replace(secret, REDACTED)
        return text

    def trim(self, stderr: str) -> str:
        # "Cloning into ..." is progress chatter that names a server path; the error is after.
        lines = [
            line.strip()
            for line in stderr.splitlines()
            if line.strip() and not line.startswith("Cloning into")
        ]
        text = self.redact(" ".join(lines)) or "no error message."
        return text if len(text) <= _STDERR_LIMIT else "..." + text[-_STDERR_LIMIT:]
