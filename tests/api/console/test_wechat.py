"""A WeChat borrower reached from the console: the collector's message and the bot's
greeting after hand-back go out as 客服消息 (WeChat's API faked by a local server
speaking its protocol, tests/api/gateway/wechat_sim.py)."""

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from api.gateway.models import Conversation
from tests.api.console.conftest import url
from tests.api.gateway import wechat_sim as sim
from tests.api.gateway.fake_rasa import RASA_TOKEN, fake_rasa, handoff  # noqa: F401
from tests.api.gateway.test_wechat import OPENID, fake_wechat, post  # noqa: F401


@pytest.fixture
def settings(settings, fake_wechat):  # noqa: F811
    return settings.model_copy(update={
        "wechat_token": SecretStr(sim.TOKEN),
        "wechat_app_id": sim.APP_ID,
        "wechat_app_secret": SecretStr(sim.APP_SECRET),
        "wechat_encoding_aes_key": SecretStr(sim.AES_KEY),
        "wechat_api_base_url": fake_wechat.base_url,
        "rasa_token": SecretStr(RASA_TOKEN),
        "rasa_timeout_seconds": 1.0,
        "rasa_control_timeout_seconds": 0.5,
    })


async def test_console_messages_reach_a_wechat_borrower_as_customer_service_messages(
    client, session, staff, fake_rasa, fake_wechat  # noqa: F811
):
    fake_rasa.script = lambda text: [handoff("E2", text="好的，马上为您转接人工。")]
    await post(client, sim.plaintext_post(sim.text_xml(OPENID, "转人工", 9001)))
    conversation_id = (await session.scalars(select(Conversation.id))).one()
    headers = staff["collector-a"]
    assert (await client.post(url(conversation_id, "claim"), headers=headers)).status_code == 200

    sent = await client.post(url(conversation_id, "messages"), json={"text": "您好，我是人工客服，请讲。"},
                             headers=headers)
    blocked = await client.post(url(conversation_id, "messages"), json={"text": "不还钱就去你单位找你领导。"},
                                headers=headers)
    handed_back = await client.post(url(conversation_id, "hand-back"), headers=headers)

    assert (sent.status_code, blocked.status_code, handed_back.status_code) == (201, 422, 200)
    assert sent.json()["message"]["status"] == "delivered"
    pushed = [m["text"]["content"] for m in fake_wechat.state.sent]
    assert pushed[0] == "您好，我是人工客服，请讲。"
    assert pushed[1].startswith("您好，我是AI助手，人工客服已处理完毕")
    assert not any("单位" in text for text in pushed)
