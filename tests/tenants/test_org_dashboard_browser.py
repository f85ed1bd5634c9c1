"""The organization dashboard in a real browser (Debian's chromium driven by Playwright):
the quota bars show the usage, on a laptop and on a phone."""

from __future__ import annotations

import pytest
from django.test import Client

from sessions.choices import SessionMode
from tenants import services
from tests.conftest import new_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def logged_in_page(browser, live_server, user, viewport):
    """A page whose browser carries the user's session cookie (no trip through the login
    throttle: logging in has its own browser tests)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(15_000)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context, context.new_page()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_bars_show_usage_against_each_limit(browser, live_server, org, member, viewport):
    services.set_quotas(
        organization=org, actor=None, changes={"max_active_sessions": 4, "max_workspaces": 10}
    )
    new_session(member, name="first", mode=SessionMode.ATTACHED)
    new_session(member, name="second", mode=SessionMode.ATTACHED)
    context, page = logged_in_page(browser, live_server, member, viewport)
    try:
        page.goto("/")
        page.get_by_role("link", name="Organization").click()
        page.wait_for_url("**/org/")
        bar = page.get_by_role("progressbar", name="Active sessions")
        assert bar.get_attribute("aria-valuetext") == "2 of 4 (50%)"
        outer = bar.bounding_box()
        fill = bar.locator(".quota-fill").bounding_box()
        assert outer["width"] > 100
        assert fill["width"] == pytest.approx(outer["width"] / 2, abs=4)
        assert page.get_by_role("progressbar").count() == 2  # the unlimited ones have none
        active = page.get_by_role("region", name="Active sessions")
        assert active.get_by_role("link", name="second").is_visible()
        # Nothing wider than the screen, on a phone as on a laptop.
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    finally:
        context.close()
