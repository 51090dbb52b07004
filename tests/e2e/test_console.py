"""The collector console in a real browser (Debian's chromium via Playwright), against
the real stack: a borrower asks for a person in the web chat, the conversation appears
in the console queue without a reload, a collector (the demo account the stack seeds)
claims it, the guard stops a threatening draft, a proper message appears live on the
borrower's page, and after hand-back the bot answers the borrower again."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import chat_page, chromium

pytestmark = pytest.mark.e2e

# Seeded by `python -m api.manage init-db` (api/seed.py DEMO_USERS), as in the e2e stack.
COLLECTOR, COLLECTOR_PASSWORD = "collector", "demo-collector-pass"
LIVE = 20_000  # ms: a change must reach the other page within this, without a reload
BOT = 90_000  # ms: a turn through the real Rasa and action server


@pytest.fixture(scope="module")
def browser(live_stack):
    with chromium() as browser:
        yield browser


@pytest.fixture
def chat(browser, live_stack) -> Page:
    with chat_page(browser, live_stack.api_url) as page:
        yield page


@pytest.fixture
def console(browser, live_stack) -> Page:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_stack.api_url}/console")
    page.fill("#username", COLLECTOR)
    page.fill("#password", COLLECTOR_PASSWORD)
    page.click("#login")
    expect(page.locator("#workspace")).to_be_visible(timeout=LIVE)
    expect(page.locator("#me-name")).to_contain_text("演示催收员")
    yield page
    context.close()


def type_into_chat(page: Page, text: str) -> None:
    """Send as the borrower and wait until the page has confirmed the message."""
    page.fill("#text", text)
    page.keyboard.press("Enter")
    expect(page.locator(".msg.pending")).to_have_count(0, timeout=BOT)
    expect(page.locator("#send")).to_be_enabled(timeout=BOT)


def ask_for_a_person(page: Page) -> None:
    # E2: a person after at most one re-prompt, so asking twice is always enough.
    for _ in range(2):
        type_into_chat(page, "转人工")
        if "转接人工客服" in page.locator("#log").inner_text():
            return
    expect(page.locator("#log")).to_contain_text("转接人工客服")


def conversation_id(page: Page) -> str:
    return page.evaluate("JSON.parse(sessionStorage.getItem('chat-session')).conversation_id")


def test_collector_takes_over_answers_live_and_hands_back(chat, console):
    ask_for_a_person(chat)
    cid = conversation_id(chat)

    # The queue updates live: no reload of the console page.
    item = console.locator(f'.queue-item[data-conversation-id="{cid}"]')
    expect(item).to_be_visible(timeout=LIVE)
    expect(item).to_contain_text("待接入")
    item.locator("button.claim").click()
    expect(console.locator("#composer")).to_be_visible(timeout=LIVE)
    expect(console.locator("#conv-state")).to_have_text("人工处理中")
    expect(item).to_contain_text("由我处理", timeout=LIVE)

    # The guard refuses a workplace threat, says which rule, and nothing reaches the borrower.
    console.fill("#draft", "再不还钱，我们就联系你单位领导。")
    console.click("#send")
    expect(console.locator("#guard")).to_be_visible(timeout=LIVE)
    expect(console.locator("#guard-list")).to_contain_text("P3")
    expect(console.locator("#draft")).to_have_value("再不还钱，我们就联系你单位领导。")

    # A proper message appears on the borrower's page by itself.
    console.fill("#draft", "您好，我是人工客服，已经看到您的留言，请问有什么可以帮您？")
    console.click("#send")
    expect(chat.locator(".msg.agent")).to_contain_text("我是人工客服", timeout=LIVE)
    assert "单位领导" not in chat.locator("#log").inner_text()

    # The borrower's answer appears in the console by itself.
    type_into_chat(chat, "我想问一下能不能分期")
    expect(console.locator("#transcript")).to_contain_text("我想问一下能不能分期", timeout=LIVE)

    # Hand back: the bot greets the borrower (live) and answers their next message.
    console.click("#hand-back")
    expect(console.locator("#conv-state")).to_have_text("AI助手处理中", timeout=LIVE)
    expect(chat.locator(".msg.bot").last).to_contain_text("人工客服已处理完毕", timeout=LIVE)
    expect(console.locator(f'.queue-item[data-conversation-id="{cid}"]')).to_have_count(0, timeout=LIVE)
    bots_before = chat.locator(".msg.bot").count()
    type_into_chat(chat, "你好")
    chat.wait_for_function("n => document.querySelectorAll('.msg.bot').length > n", arg=bots_before, timeout=BOT)
    assert "人工客服已处理完毕" not in chat.locator(".msg.bot").last.inner_text()
