"""A real orchestrator process for end-to-end tests: `manage.py runserver` (Daphne, ASGI) on a
free loopback port against the test database, which a test may stop and start again.

pytest-django's `live_server` runs in the test process and cannot go away mid-test; this one
can, so the hook client's spool and replay meet a server that really disappears. The test
must commit what the server should see: use `django_db(transaction=True)`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from django.conf import settings
from django.db import connection

MANAGE_PY = Path(__file__).resolve().parents[1] / "manage.py"
SCHEMES = {"sqlite3": "sqlite", "postgresql": "postgres"}
# Loopback only: never through a proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    """The database this test uses (the test database, not the configured one) as a URL."""
    db = connection.settings_dict
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    if vendor == "sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    if vendor not in SCHEMES:
        raise NotImplementedError(f"no URL scheme for {db['ENGINE']}")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"{SCHEMES[vendor]}://{auth}{db.get('HOST') or ''}{port}/{quote(db['NAME'])}"


class ServerProcess:
    """One `runserver --noreload` child; the same port across stop() and start()."""

    def __init__(
        self,
        log_path: Path,
        *,
        port: int | None = None,
        env: dict | None = None,
        workers: int = 0,
    ):
        self.port = port or free_port()
        self.log_path = log_path
        self.extra_env = env or {}
        # 0: `runserver` (Daphne); N: uvicorn with N worker processes, as production runs.
        self.workers = workers
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
            "DATABASE_URL": database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "1",
            "PUBLIC_URL": "",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def start(self, timeout: float = 30) -> ServerProcess:
        if self.running:
            return self
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=MANAGE_PY.parent,
                start_new_session=True,  # its own process group: kill() reaches the workers
            )
        self._wait(self._answers, timeout, "to answer HTTP")
        return self

    def command(self) -> list[str]:
        if not self.workers:
            return [sys.executable, str(MANAGE_PY), "runserver", "--noreload", "--skip-checks"] + [
                "--nostatic",
                f"127.0.0.1:{self.port}",
            ]
        return [sys.executable, "-m", "uvicorn", "orchestrator.asgi:application"] + [
            *("--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)),
            *("--loop", "uvloop", "--http", "httptools", "--lifespan", "off", "--no-access-log"),
        ]

    def kill(self) -> None:
        """SIGKILL the server and its workers: a crash, nothing flushed or answered."""
        process, self._process = self._process, None
        if process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(15)
        self._wait(lambda: not self._listening(), 15, "to release its port")

    def stop(self, timeout: float = 15) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._wait(lambda: not self._listening(), timeout, "to release its port")

    def log(self) -> str:
        with suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""

    def _listening(self) -> bool:
        with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True
        return False

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"the server exited with {self._process.returncode}:\n{self.log()}")
        try:
            with OPENER.open(f"{self.url}/api/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # any answer (401 here) means Django is serving
        except OSError:
            return False

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"server on {self.url} took over {timeout}s {what}:\n{self.log()}"
                )
            time.sleep(0.05)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def running_server(log_path: Path, **kwargs) -> Iterator[ServerProcess]:
    """`with running_server(tmp_path / "server.log") as server:` ... `server.stop()`,
    `server.start()` ...; always stopped on the way out."""
    with ServerProcess(log_path, **kwargs) as server:
        yield server
