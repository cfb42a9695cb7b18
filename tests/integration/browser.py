"""Headless Chromium driven by Playwright for Python: Debian's /usr/bin/chromium (installed by
`make test`), never a browser Playwright would download. Without it the test fails and says
how to install it; it never skips."""

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, ViewportSize, async_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE: ViewportSize = {"width": 390, "height": 844}  # the applicant's page is phone-sized first
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("the browser tests need Debian's chromium at /usr/bin/chromium: `make test` "
                    "installs it when run as root with apt-get; else `apt-get install chromium`")
    # Playwright must never fetch a browser of its own
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


def watch(page: Page) -> list[str]:
    """Every console error of `page` (a refused script, style or connection: CSP)."""
    errors: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


async def keep_screenshot(page: Page, name: str, full_page: bool = True) -> bytes:
    """The page as PNG; kept in $RESLOT_SCREENSHOTS/<name> when that is set (docs/)."""
    png = await page.screenshot(full_page=full_page)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    keep = os.environ.get("RESLOT_SCREENSHOTS")
    if keep:
        await asyncio.to_thread(Path(keep, name).write_bytes, png)
    return png
