"""The ASGI server under test, run as a subprocess on a free loopback port."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import machine

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = "orchestrator.asgi:application"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerKind:
    name: str
    workers: int = 1

    def argv(self, port: int) -> list[str]:
        if self.name == "daphne":
            return [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), APPLICATION]
        workers = ["--workers", str(self.workers)] if self.workers > 1 else []
        return [
            sys.executable,
            "-m",
            "uvicorn",
            APPLICATION,
            "--host",
            HOST,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
            *fast_parts(),
            *workers,
        ]

    @property
    def label(self) -> str:
        return self.name if self.workers == 1 else f"{self.name} x{self.workers}"


def fast_parts() -> list[str]:
    """uvloop and httptools when installed (they are dependencies; a stripped install may lack
    them, and uvicorn then falls back to asyncio and h11)."""
    parts = []
    for option, module, value in (
        ("--loop", "uvloop", "uvloop"),
        ("--http", "httptools", "httptools"),
    ):
        try:
            __import__(module)
        except ImportError:
            continue
        parts += [option, value]
    return parts


def parse_kind(text: str) -> ServerKind:
    """`daphne`, `uvicorn` or `uvicorn:2` (two worker processes)."""
    name, _, workers = text.partition(":")
    if name not in ("daphne", "uvicorn"):
        raise ValueError(f"unknown server {name!r}: daphne or uvicorn")
    if name == "daphne" and workers:
        raise ValueError("daphne runs one process; run several behind a balancer instead")
    return ServerKind(name, int(workers or 1))


def available(kind: ServerKind) -> bool:
    try:
        __import__(kind.name)
    except ImportError:
        return False
    return True


class Server:
    """Start with `with Server(kind, env, log_path) as server:`; stops on exit."""

    def __init__(self, kind: ServerKind, env: dict[str, str], log_path: Path) -> None:
        self.kind = kind
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.kind.argv(self.port),
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            self._wait_ready(timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self.stop()
        if exc_type is not None:
            print(f"--- {self.kind.label} log tail ---\n{tail(self.log_path, 40)}", file=sys.stderr)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def pids(self) -> list[int]:
        return machine.process_tree(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _wait_ready(self, timeout: float) -> None:
        """Ready once the hook endpoint answers at all (401 without a token)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.kind.label} exited with {self.process.returncode}; "
                    f"see {self.log_path}:\n{tail(self.log_path)}"
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("POST", "/api/hooks/", body=b"{}")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"{self.kind.label} did not answer within {timeout:.0f} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def base_environment(overrides: dict[str, str]) -> dict[str, str]:
    """The server's environment: ours, minus a real API key, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if key != "ANTHROPIC_API_KEY"}
    # The benchmark floods one session on purpose: the per-token rate limit would stop it.
    env.setdefault("HOOK_RATE_LIMIT", "0")
    env.update(overrides)
    return env
