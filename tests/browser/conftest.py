"""The browser tier: the console in Debian's Chromium, driven by Playwright.

One real ``wharf up`` per test module (a temporary data dir, a free port), one headless
Chromium per module (``/usr/bin/chromium``: Playwright never downloads a browser of its own),
and a fresh browser context (cookies, clipboard) per test. Without Chromium the tier skips, and
under ``CI=true`` a skipped tier fails the run (``TIER_SKIPS`` in tests/conftest.py); ``.ci/run``
installs it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.processes import RunningWharf, run_wharf_up

CHROMIUM = Path(os.environ.get("WHARF_TEST_CHROMIUM", "/usr/bin/chromium"))
"""Debian's chromium (``WHARF_TEST_CHROMIUM`` points elsewhere, as the CI-tier test does)."""
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
WIDE: ViewportSize = {"width": 1280, "height": 800}
NARROW: ViewportSize = {"width": 390, "height": 844}
"""The two widths the console is checked at: a laptop and a phone."""


# Module scope, never session: Playwright's sync API keeps an asyncio loop running on the main
# thread while it is started, so every later test on the same xdist worker that calls
# asyncio.run() would fail with "cannot be called from a running event loop".
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium is not installed: the browser tests need Debian's chromium at "
            f"{CHROMIUM} (apt-get install chromium fonts-liberation; .ci/run does)"
        )
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="module")
def wharf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWharf]:
    """One real ``wharf up`` for the module."""
    with run_wharf_up(tmp_path_factory.mktemp("wharf")) as running:
        yield running


@pytest.fixture
def context(browser: Browser, wharf: RunningWharf) -> Iterator[BrowserContext]:
    """A fresh browser profile at 1280 px that may read what the page copies."""
    opened = browser.new_context(
        viewport=WIDE, base_url=wharf.url, accept_downloads=True, locale="en-GB"
    )
    opened.grant_permissions(["clipboard-read", "clipboard-write"], origin=wharf.url)
    opened.set_default_timeout(15_000)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def admin_token(wharf: RunningWharf) -> str:
    """The token ``wharf up`` wrote into the CLI config for the admin."""
    config = Path(wharf.env["WHARF_CONFIG_DIR"]) / "config.toml"
    token: str = tomllib.loads(config.read_text())["token"]
    return token


def screenshot(page: Page, name: str, viewport: ViewportSize = WIDE) -> Path:
    """The whole page as ``docs/images/console-<name>.png`` at 1280 px (docs/console.md), or
    ``console-<name>-390.png`` at the narrow width. The file is written only when
    ``WHARF_TEST_SCREENSHOTS=1`` (a test run leaves the checkout as it was); the page is
    rendered whole either way."""
    page.set_viewport_size(viewport)
    suffix = "" if viewport == WIDE else f"-{viewport['width']}"
    path = IMAGES / f"console-{name}{suffix}.png"
    image = page.screenshot(full_page=True, animations="disabled", caret="hide")
    assert image.startswith(b"\x89PNG"), f"the {name} page did not render"
    if os.environ.get("WHARF_TEST_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image)
    page.set_viewport_size(WIDE)
    return path
