"""The compliance workspace page in a real browser (Debian's chromium via Playwright).

The page only talks to the api, so this module starts the api alone (the devstack
supervisor with just its api service) on a seeded SQLite database, with Rasa's port
closed: borrower messages are stored and escalated as bot failures, which is all a
transcript needs. The demo compliance account comes from the seed (api/seed.py).
"""

import json
import secrets
import sqlite3
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from api.manage import init_db
from devstack.config import StackConfig
from devstack.supervisor import Stack, service_specs
from tests.conftest import free_port
from tests.e2e.browser import chromium

pytestmark = pytest.mark.e2e

ZHANG = {"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"}


class ApiOnly:
    def __init__(self, url: str, db_path: Path, service_token: str) -> None:
        self.url, self.db_path, self.service = url, db_path, {"Authorization": f"Bearer {service_token}"}


@pytest.fixture(scope="module")
def api_only(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var")
    db_path = var_dir / "app.db"
    salt, service_token = secrets.token_hex(16), secrets.token_hex(16)
    config = StackConfig(
        api_port=free_port(), rasa_port=free_port(), actions_port=free_port(), var_dir=var_dir,
        models_dir=var_dir / "models",
        extra_env={"DATABASE_URL": f"sqlite+aiosqlite:///{db_path}", "ID_HASH_SALT": salt,
                   "SERVICE_TOKEN": service_token},
    )
    init_db(config.database_url, salt)
    [api_spec] = [s for s in service_specs(config, model=var_dir / "none.tar.gz") if s.name == "api"]
    with Stack(config, [api_spec]):
        yield ApiOnly(config.api_url, db_path, service_token)


@pytest.fixture(scope="module")
def agreed_conversation(api_only) -> dict:
    """A verified web chat with a dispute phrase, a quote and an agreement on 「确认」."""
    with httpx.Client(base_url=api_only.url, timeout=30) as http:
        chat = http.post("/api/v1/chat/sessions", json={"channel": "web"}).json()
        cid, borrower = chat["conversation_id"], {"Authorization": f"Bearer {chat['session_token']}"}
        internal = f"/internal/v1/conversations/{cid}"
        assert http.post(f"{internal}/identity-verification", json=ZHANG, headers=api_only.service).json()["verified"]
        http.post(f"/api/v1/chat/sessions/{cid}/messages", json={"text": "我想申请分期还款，电话13812345678"},
                  headers=borrower).raise_for_status()
        quote = http.post(f"{internal}/quotes", json={"kind": "instalment"}, headers=api_only.service).json()
        http.post(f"/api/v1/chat/sessions/{cid}/messages", json={"text": "确认"}, headers=borrower).raise_for_status()
        with sqlite3.connect(api_only.db_path) as db:
            [(consent_id,)] = db.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND text = '确认'", (cid,)).fetchall()
        accepted = http.post(
            f"{internal}/quotes/{quote['quotes'][0]['quote_id']}/accept",
            json={"consent_text": "确认", "consent_message_id": consent_id},
            headers={**api_only.service, "Idempotency-Key": secrets.token_hex(8)},
        )
        assert accepted.status_code in (200, 201), accepted.text
    return {"conversation_id": cid, "agreement_id": accepted.json()["agreement_id"]}


@pytest.fixture(scope="module")
def browser(api_only):
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, api_only) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{api_only.url}/compliance")
    page.fill("#username", "compliance")
    page.fill("#password", "demo-compliance-pass")
    page.click("#login-submit")
    expect(page.locator("#workspace")).to_be_visible(timeout=15_000)
    yield page
    context.close()


def test_search_open_transcript_review_and_export_a_pack(page, agreed_conversation, tmp_path):
    from api.compliance.evidence import verify_pack

    page.fill("#q", "分期还款")
    page.click("#search-submit")
    row = page.locator(f"tr.hit[data-id='{agreed_conversation['conversation_id']}']")
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".snippet")).to_contain_text("138****5678")

    row.click()
    expect(page.locator("#t-id")).to_have_text(agreed_conversation["conversation_id"])
    expect(page.locator(".msg.bot").first).to_contain_text("AI")
    expect(page.locator("#t-messages")).not_to_contain_text("13812345678")
    expect(page.locator("#t-events")).to_contain_text("conversation.state_changed")

    page.fill("#reveal-reason", "核实借款人来电")
    page.click("#reveal")
    expect(page.locator("#t-messages")).to_contain_text("13812345678")

    page.select_option("#review-verdict", "compliant")
    page.fill("#review-comment", "<b>无问题</b>")
    page.click("#review-submit")
    expect(page.locator("#t-reviews")).to_contain_text("<b>无问题</b>")  # shown as text

    with page.expect_download() as download_info:
        page.locator(".export-json").first.click()
    path = tmp_path / "pack.json"
    download_info.value.save_as(path)
    pack = json.loads(path.read_text(encoding="utf-8"))
    assert pack["agreement"]["id"] == agreed_conversation["agreement_id"]
    assert verify_pack(pack) == []
    expect(page.locator("#t-status")).to_contain_text("证据包已导出")


def test_dashboard_draws_charts(page, agreed_conversation):
    page.click("#tab-dashboard")
    expect(page.locator("#chart-agreements svg rect")).to_have_count(1, timeout=15_000)
    expect(page.locator("#chart-agreements")).to_contain_text("分期")


def test_wrong_password_is_refused(browser, api_only):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{api_only.url}/compliance")
    page.fill("#username", "compliance")
    page.fill("#password", "wrong")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_contain_text("错误")
    expect(page.locator("#workspace")).to_be_hidden()
    context.close()


def test_data_request_raised_in_chat_is_fulfilled_from_the_page(page, api_only, agreed_conversation, tmp_path):
    cid = agreed_conversation["conversation_id"]
    with httpx.Client(base_url=api_only.url, timeout=30) as http:
        opened = http.post(
            f"/internal/v1/conversations/{cid}/data-requests",
            json={"kind": "copy", "note": "把我的聊天记录导出给我"}, headers=api_only.service,
        )
    assert opened.status_code == 201, opened.text
    request_id = opened.json()["request_id"]

    page.click("#tab-requests")
    row = page.locator("#requests-table tbody tr", has_text="把我的聊天记录导出给我")
    expect(row).to_contain_text("复制", timeout=15_000)
    with page.expect_download() as download_info:
        row.locator("button", has_text="办理").click()
    path = tmp_path / "export.json"
    download_info.value.save_as(path)
    export = json.loads(path.read_text(encoding="utf-8"))
    assert cid in json.dumps(export, ensure_ascii=False)
    # Fulfilled: no longer among the open requests.
    expect(page.locator("#requests-table tbody")).not_to_contain_text("把我的聊天记录导出给我")
    with httpx.Client(base_url=api_only.url, timeout=30) as http:
        token = http.post("/api/v1/auth/token", data={"username": "compliance", "password": "demo-compliance-pass"}).json()["access_token"]
        listed = http.get("/api/v1/compliance/data-requests", headers={"Authorization": f"Bearer {token}"}).json()
    assert [r["status"] for r in listed if r["id"] == request_id] == ["fulfilled"]
