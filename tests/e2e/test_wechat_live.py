"""A WeChat user talks to the real bot: signed callback → gateway → Rasa → actions → api."""

import httpx
import pytest

from tests.api.gateway import wechat_sim as sim
from tests.e2e.conftest import E2E_WECHAT_TOKEN

pytestmark = pytest.mark.e2e

OPENID = "oE2E_live_user_000000000001"


def say(api_url: str, text: str, msg_id: int) -> str:
    signed = sim.plaintext_post(sim.text_xml(OPENID, text, msg_id), token=E2E_WECHAT_TOKEN)
    response = httpx.post(f"{api_url}/wechat", params=signed.params, content=signed.body, timeout=30)
    assert response.status_code == 200, response.text
    return sim.reply_content(response.text)


def test_wechat_user_verifies_and_hears_the_amount_as_passive_replies(live_stack):
    first = say(live_stack.api_url, "你好", 910001)
    assert first.startswith("您好，我是") and "AI助手" in first  # D1 disclosure first
    assert "请问有什么可以帮您" in first  # then the bot's greeting

    assert "核实身份" in say(live_stack.api_url, "我欠多少钱", 910002)
    verified = say(live_stack.api_url, "张伟 1234 1990-03-07", 910003)
    assert "¥3,250.00" in verified
