"""The API docs (Swagger UI at /api/docs/, ReDoc at /api/redoc/) come from the project's own
static files (drf-spectacular-sidecar): nothing is loaded from another host, so they work
offline, and the same files are what collectstatic hands the proxy in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from tests.screenshots import save
from tests.sessions.web import test_dashboard_browser as dashboard

pytestmark = pytest.mark.django_db

# daphne serving the app on the test database, as for the dashboard's browser tests.
server = dashboard.server

DOCS_PAGES = ["/api/docs/", "/api/redoc/"]
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def assets_of(body: str) -> list[str]:
    return ASSET.findall(body)


def static_prefix() -> str:
    return "/" + settings.STATIC_URL.strip("/") + "/"


@pytest.mark.parametrize("url", DOCS_PAGES)
def test_docs_pages_load_nothing_from_another_host(client, url):
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assets = assets_of(body)
    assert assets, "the page loads its viewer from somewhere"
    assert all(asset.startswith(static_prefix()) for asset in assets), assets
    for marker in ("http://", "https://", "//cdn", "@latest", "googleapis"):
        assert marker not in "".join(assets)
    assert "fonts.googleapis.com" not in body
    # What the viewers load by themselves (ReDoc's logo) the browser is told not to fetch.
    assert "img-src 'self' data:" in response["Content-Security-Policy"]


@pytest.mark.parametrize("url", DOCS_PAGES)
def test_every_file_the_docs_load_is_a_static_file_collectstatic_collects(client, url):
    for asset in assets_of(client.get(url).content.decode()):
        found = finders.find(asset.removeprefix(static_prefix()))
        assert found and Path(found).stat().st_size > 0, asset


def test_docs_page_does_not_send_the_schema_to_the_swagger_validator(client):
    body = client.get("/api/docs/").content.decode()
    assert '"validatorUrl": null' in body


def test_the_sidecar_is_pinned_like_every_other_dependency():
    root = Path(settings.BASE_DIR)
    assert re.search(r"^drf-spectacular-sidecar==\d", (root / "constraints.txt").read_text(), re.M)
    assert "drf-spectacular-sidecar" in (root / "pyproject.toml").read_text()


# --- in a real browser with the network cut off ---------------------------------------------


@pytest.fixture
def offline_page(server, browser):
    """A page that can reach the test server and nothing else: any other request is aborted
    (and remembered, so a test can say what the page tried to load)."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    blocked: list[str] = []

    def only_the_server(route):
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    page.blocked = blocked
    yield page
    context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
def test_swagger_ui_renders_offline(offline_page):
    page = offline_page
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "claude-orchestrator API" in page.text_content(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag-section")
    assert page.locator(".opblock").count() > 10
    assert page.locator("text=/api/sessions/").count() > 0
    assert page.blocked == []
    save(page, "api-docs-swagger")


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
def test_redoc_renders_offline(offline_page):
    page = offline_page
    page.goto("/api/redoc/")
    page.wait_for_selector(".api-info h1")
    assert "claude-orchestrator API" in page.text_content(".api-info h1")
    page.wait_for_selector("[data-section-id^='tag/']")
    assert page.blocked == []
    save(page, "api-docs-redoc")
