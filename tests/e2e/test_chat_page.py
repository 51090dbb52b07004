"""The borrower web chat page in a real browser (Debian's chromium via Playwright)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect

from api.core.db import make_engine, make_sessionmaker
from api.core.events import EventBus
from api.gateway import escalation
from api.gateway.models import ReasonCode
from api.gateway.outbound import deliver_agent_message
from api.users.models import Role
from api.users.service import create_user
from tests.e2e.browser import chat_page, chromium

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def browser(live_stack):
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, live_stack) -> Page:
    with chat_page(browser, live_stack.api_url) as page:
        yield page


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


def _in_own_loop(coroutine):
    # Playwright's sync API owns this thread's event loop: run the database work beside it.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _collector_answers(database_url: str, conversation_id: str, text: str) -> None:
    """A collector takes the conversation and writes (the console's service calls, made
    on the stack's database from outside the api process)."""
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with sessionmaker.begin() as db:
            user = await create_user(db, username=f"collector-{conversation_id[:8]}", display_name="王",
                                     role=Role.COLLECTOR, password="e2e-collector-pw", actor="system")
            await escalation.escalate(db, conversation_id=conversation_id, reason=ReasonCode.HUMAN_REQUESTED,
                                      note=None, actor="system", source="e2e")
            await escalation.claim(db, conversation_id=conversation_id, user_id=user.id)
        await deliver_agent_message(
            sessionmaker, conversation_id=conversation_id, text=text, user_id=user.id,
            app_state=SimpleNamespace(events=EventBus(), wechat=None),
        )
    finally:
        await engine.dispose()


def test_a_collectors_message_appears_without_reload_and_only_once(page, live_stack):
    send(page, "你好")
    conversation_id = page.evaluate("JSON.parse(sessionStorage.getItem('chat-session')).conversation_id")
    text = "您好，我是人工客服小王 <b>😊</b>"

    _in_own_loop(_collector_answers(live_stack.config.database_url, conversation_id, text))

    agent = page.locator(".msg.agent")
    expect(agent).to_have_count(1, timeout=15_000)
    expect(agent).to_contain_text(text)  # as text: the markup is not rendered
    expect(agent).to_contain_text("人工客服")
    expect(page.locator("#state")).to_contain_text("人工客服已接入")
    expect(page.locator("#ai-label")).to_be_visible()
    before = page.locator(".msg").all_inner_texts()
    # The stream ends every few seconds (CHAT_STREAM_MAX_SECONDS) and the page reconnects
    # from its last id: nothing is shown twice.
    page.wait_for_timeout(6_000)
    assert page.locator(".msg").all_inner_texts() == before
    page.reload()
    expect(page.locator(".msg")).to_have_count(len(before), timeout=15_000)
    assert page.locator(".msg").all_inner_texts() == before
    expect(page.locator("#state")).to_contain_text("人工客服已接入")
