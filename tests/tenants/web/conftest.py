"""The real-browser fixtures (daphne serving the app, chromium driven by Playwright), shared
with the sessions dashboard's browser tests."""

from tests.sessions.web.test_dashboard_browser import page, server  # noqa: F401
