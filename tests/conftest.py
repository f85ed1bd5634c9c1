"""Shared personas: an owner (org admin), a member and a viewer of one organization, and an
outsider from another. Also an API client per persona, authenticated by token."""

from __future__ import annotations

import os
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from sessions import services as session_services
from sessions.agent.jail import sandbox
from sessions.models import Session
from tenants import services as tenant_services
from tenants.choices import Role
from tenants.models import Organization, User

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing is slow by design; the tests are about who may do what, not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
