"""Debian's chromium driven by Playwright (its own browser download cannot work here)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# As root on a machine without outbound network: no sandbox, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 760}


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start it only after the stack fixture: the stack's asyncio set-up must finish
    before Playwright's sync API takes over the thread's event loop."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (scripts/ensure_chromium.sh)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chat_page(browser: Browser, api_url: str) -> Iterator[Page]:
    """The borrower's web chat on a phone-sized screen, ready to type."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{api_url}/chat")
    # Ready when the session exists: the opening message is shown and sending is enabled.
    expect(page.locator("#send")).to_be_enabled(timeout=30_000)
    try:
        yield page
    finally:
        context.close()
