"""The dashboard tests' browser: Debian's Chromium driven by Playwright, one per test file.

Test files import the fixtures from here (``browser_fixture``, ``page_fixture``).
Screenshots for docs/screenshots/ are taken only when KEYLIGHT_DASHBOARD_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


# One Playwright and one browser per test file, stopped when the file is done: while a sync
# Playwright runs it keeps an event loop running on the main thread, so an async test of a
# later file (pytest-asyncio's session loop, e.g. test_fencing.py) could not run its own.
@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(name="page")
def page_fixture(browser, base_url: str):
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page, tenant_id: str, token: str) -> None:
    page.goto("/dashboard/login")
    page.get_by_label("Tenant id").fill(tenant_id)
    page.get_by_label("Management token (or the operator token)").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def session_cookie(page) -> dict:
    return next(cookie for cookie in page.context.cookies()
                if cookie["name"] == "keylight_session")


def screenshot(page, name: str) -> None:
    """docs/screenshots/<name>.png, when asked for (KEYLIGHT_DASHBOARD_SCREENSHOTS=1)."""
    if os.environ.get("KEYLIGHT_DASHBOARD_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
