"""The borrower web chat page in a real browser (Debian's chromium via Playwright)."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.e2e

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


@pytest.fixture(scope="module")
def browser(live_stack):
    # Depends on live_stack so the stack (which runs asyncio for its set-up) starts
    # before Playwright's sync API takes over this thread's event loop.
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (scripts/ensure_chromium.sh)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_stack) -> Page:
    context = browser.new_context(viewport={"width": 390, "height": 760}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_stack.api_url}/chat")
    # Ready when the session exists: the opening message is shown and sending is enabled.
    expect(page.locator("#send")).to_be_enabled(timeout=30_000)
    yield page
    context.close()


def send(page: Page, text: str) -> None:
    before = page.locator(".msg").count()
    page.fill("#text", text)
    page.keyboard.press("Enter")
    # The borrower's bubble and at least one reply after it, the bubble confirmed.
    page.wait_for_function(
        "n => document.querySelectorAll('.msg').length >= n + 2", arg=before, timeout=90_000
    )
    expect(page.locator(".msg.pending")).to_have_count(0, timeout=90_000)


def test_page_opens_with_disclosure_and_persistent_ai_label(page):
    expect(page.locator("#ai-label")).to_contain_text("AI助手")
    expect(page.locator(".msg.bot").first).to_contain_text("记录")
    expect(page.locator("#hotline")).to_contain_text("客服热线")


def test_borrower_verifies_and_reads_the_amount_due(page):
    send(page, "你好")
    send(page, "我欠多少钱")
    expect(page.locator(".msg.bot").last).to_contain_text("核实身份")
    send(page, "张伟 1234 1990-03-07")
    expect(page.locator("#log")).to_contain_text("¥3,250.00")
    # The AI label is still on screen after the conversation has scrolled.
    expect(page.locator("#ai-label")).to_be_visible()


def test_markup_typed_by_a_borrower_is_shown_as_text(page):
    send(page, "<img src=x onerror=\"document.body.dataset.pwned=1\">你好")
    expect(page.locator(".msg.borrower").last).to_contain_text("<img src=x")
    assert page.locator(".msg img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None


def test_reload_resumes_the_same_conversation(page):
    send(page, "你好")
    before = page.locator(".msg").all_inner_texts()
    page.reload()
    expect(page.locator(".msg")).to_have_count(len(before))
    assert page.locator(".msg").all_inner_texts() == before
