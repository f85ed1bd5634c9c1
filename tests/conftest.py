"""Shared personas: an owner (org admin), a member and a viewer of one organization, and an
outsider from another. Also an API client per persona, authenticated by token."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from billing import pricing
from sessions import services as session_services
from sessions.agent.jail import sandbox
from sessions.models import Session
from tenants import services as tenant_services
from tenants.choices import Role
from tenants.models import Organization, User
from tests.live_server import free_port

PASSWORD = "correct-horse-battery-staple"


# --- the database roles ---------------------------------------------------------------------
#
# On PostgreSQL with DATABASE_OWNER_URL set (CI), the test database is created and migrated
# as the owner, and then every connection of the tests (and of the servers and workers they
# start, which take the test's URL) is the application's restricted role: superusers and
# owners pass row-level security, so tests run as either would prove nothing.


def _two_roles() -> bool:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return engine.endswith("postgresql") and bool(settings.DATABASE_OWNER_URL)


def _connect_as(url: str) -> None:
    """Point the default connection at `url`'s role (same database name)."""
    import environ
    from django.conf import settings
    from django.db import connections

    config = environ.Env.db_url_config(url)
    connection = connections["default"]
    for settings_dict in {
        id(d): d for d in (settings.DATABASES["default"], connection.settings_dict)
    }.values():
        for key in ("USER", "PASSWORD", "HOST", "PORT"):
            settings_dict[key] = config.get(key, "")
    connection.close()
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()


def owner_sql(statement: str, params: list | None = None) -> None:
    """Run DDL as the tables' owner: on its own connection (committed at once) when the tests
    run as the application role, else on the test's connection."""
    from django.conf import settings
    from django.db import connection

    if not _two_roles():
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
        return
    import environ
    import psycopg

    config = environ.Env.db_url_config(settings.DATABASE_OWNER_URL)
    params_ = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    params_.update(user=config["USER"], password=config.get("PASSWORD") or None)
    with psycopg.connect(**params_, autocommit=True) as owner:
        owner.execute(statement, params)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """Create and migrate the test database as the owner role."""
    from django.conf import settings

    if _two_roles():
        _connect_as(settings.DATABASE_OWNER_URL)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Then run every test as the application role (and drop the database as the owner)."""
    from django.conf import settings
    from django.db import connection

    from tenants.db_roles import grant_app_role, role_of

    if not _two_roles():
        yield
        return
    app_url = settings.DATABASE_APP_URL
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            # TRUNCATE, for the teardown of transactional tests only: never in production.
            grant_app_role(cursor, role_of(app_url)[0], truncate=True)
        _connect_as(app_url)
    yield
    with django_db_blocker.unblock():
        _connect_as(settings.DATABASE_OWNER_URL)


@pytest.fixture(scope="session", autouse=True)
def _ingest_writer_stops(django_db_setup):
    """The ingest writer's thread holds a connection of its own: close it before the test
    database is dropped."""
    yield
    from sessions.ingest import writer

    writer.stop()


@pytest.fixture(autouse=True)
def _fixtures_cross_organizations():
    """Fixtures and assertions read and write several organizations' rows directly, as an
    operator would: the tests run in the bypass. Everything under test enters its own context
    (a request its user's, a hook post its session's, a turn its organization's), replacing
    this one; tests of row-level security itself leave it (`tests/tenants/test_rls.py`)."""
    from tenants.context import Scope, entered

    with entered(Scope(bypass=True)):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing is slow by design; the tests are about who may do what, not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_billing_rates():
    """Billing keeps rates and prices in memory per process: a test's own (rolled back after
    it) must not price the next test's events."""
    pricing.forget()
    yield
    pricing.forget()


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Rate-limit and throttle counters of one test never reach another: each test gets a key
    prefix of its own (on Redis, flushing the database would hit everyone using it)."""
    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(name="Acme", slug="acme")


@pytest.fixture
def other_org(db) -> Organization:
    return Organization.objects.create(name="Globex", slug="globex")


def _user(username: str, organization: Organization | None, role: str, **extra) -> User:
    user = User(username=username, organization=organization, role=role, **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def owner(org) -> User:
    return _user("owner", org, Role.ADMIN)


@pytest.fixture
def member(org) -> User:
    return _user("member", org, Role.USER)


@pytest.fixture
def viewer(org) -> User:
    return _user("viewer", org, Role.VIEWER)


@pytest.fixture
def outsider(other_org) -> User:
    return _user("outsider", other_org, Role.ADMIN)


@pytest.fixture
def superuser(db) -> User:
    return _user("root", None, Role.USER, is_superuser=True, is_staff=True)


def api_token_for(user: User) -> str:
    """A fresh API token of the user (only its digest is stored)."""
    return tenant_services.issue_api_token(user=user)[1]


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.fixture
def api():
    """`api(user)` is an API client logged in as that user; `api(None)` is anonymous."""
    return client_for


@pytest.fixture
def web():
    """`web(user)` is a browser-like client logged in as that user; `web(None)` is anonymous."""

    def client_for(user) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return client_for


@pytest.fixture
def project_root(tmp_path, settings, org):
    """A folder the organization's local sessions may use: the only LOCAL_PROJECT_ROOTS
    entry (the operator's bound) and the organization's one local root (its grant)."""
    root = tmp_path / "projects"
    (root / "app").mkdir(parents=True)
    (root / "app" / "README.md").write_text("hello\n")
    settings.LOCAL_PROJECT_ROOTS = [root.resolve()]
    settings.DATA_DIR = tmp_path / "data"
    tenant_services.set_local_roots(organization=org, actor=None, roots=[str(root)])
    org.refresh_from_db()
    return root.resolve()


@pytest.fixture(autouse=True)
def _required_services(request):
    """Tests that need PostgreSQL, Redis or bubblewrap skip where those are absent (a laptop
    with no services) but fail in CI, which sets REQUIRE_SERVICES=1: never a silent skip
    there."""
    from django.conf import settings

    available = {
        "postgres": settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "redis": bool(settings.REDIS_URL),
        "bubblewrap": request.node.get_closest_marker("bubblewrap") is None
        or sandbox.unavailable_reason() is None,
    }
    for service, present in available.items():
        if request.node.get_closest_marker(service) and not present:
            if os.environ.get("REQUIRE_SERVICES") == "1":
                pytest.fail(f"{service} is required here but not configured")
            pytest.skip(f"needs {service}")


def new_session(user: User, **overrides) -> Session:
    """A session of the user's organization, created through the service (a managed github
    session on acme/widgets unless told otherwise)."""
    fields = {"name": "session", "project_type": "github", "github_repo": "acme/widgets"}
    return session_services.create_session(
        organization=user.organization, actor=user, **{**fields, **overrides}
    )


# --- a real browser: Debian's chromium driven by Playwright ---------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def browser(monkeypatch):
    if not CHROMIUM.exists():
        # CI installs chromium; never a silent skip there.
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is required for the browser tests")
        pytest.skip(f"needs {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop set on this thread, which makes Django
    # refuse the test's own ORM reads; they are plain sync code here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
            # With that loop set, Django keys connections by context, not thread: the
            # test's reads opened one of their own. Close it while it can still be found,
            # or it outlives the test and blocks the test database's teardown.
            connections.close_all()


# --- a real SMTP server (aiosmtpd) behind Django's SMTP backend ----------------------------


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    """Mail goes where production's does (EMAIL_HOST, EMAIL_PORT), to a server of the test."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.DEFAULT_FROM_EMAIL = "orchestrator@example.com"
    try:
        yield inbox
    finally:
        controller.stop()


# --- a real Celery worker on the test database ---------------------------------------------


@contextmanager
def celery_worker(queue: str, log_path: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`celery worker -Q <queue>` (one process, solo pool) connected to the test database as
    the test's own role, with `env` on top; stopped on leaving."""
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    command = [sys.executable, "-m", "celery", "-A", "orchestrator", "worker", "-Q", queue]
    command += ["-P", "solo", "-c", "1", "--without-heartbeat", "--without-gossip"]
    command += ["--without-mingle", "-l", "info"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "DEBUG": "1", "DATABASE_URL": url, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=20)
