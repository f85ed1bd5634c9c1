"""The browser tests' fixtures (a served app, a logged-in-able person, a page, a repository),
defined beside the first browser tests and shared with the others of this folder."""

from tests.sessions.web.test_dashboard_browser import page, person, repo_url, server  # noqa: F401
