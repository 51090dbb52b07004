"""Escalation on the WeChat channel: system messages reach the borrower in the passive
reply or through 客服消息, and WeChat's retries never escalate twice."""

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from api.audit.models import AuditEvent
from api.gateway.models import Conversation, ConversationState, Escalation, Sender
from tests.api.gateway import wechat_sim as sim
from tests.api.gateway.fake_rasa import RASA_TOKEN, fake_rasa, handoff  # noqa: F401
from tests.api.gateway.test_wechat import OPENID, fake_wechat, messages_of, post  # noqa: F401


@pytest.fixture
def settings(settings, fake_wechat):
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


async def test_handoff_notice_reaches_the_wechat_borrower_in_the_passive_reply(client, session, fake_rasa):
    fake_rasa.script = lambda text: [handoff("E2", text="好的，马上为您转接人工。")]

    response = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "转人工", 8001)))

    opening, bot, notice = sim.reply_content(response.text).split("\n\n")
    assert "AI助手" in opening and "转接人工" in bot
    assert "转接人工客服" in notice and "您是下一位" in notice
    assert fake_rasa.event_names(fake_rasa.turns[0]["sender"]) == ["pause"]


async def test_wechat_retry_of_an_escalating_message_escalates_once(client, session, fake_rasa):
    fake_rasa.script = lambda text: [handoff("E1", text="我帮您转人工核实。")]
    signed = sim.plaintext_post(sim.text_xml(OPENID, "这笔不是我借的", 8002))

    await post(client, signed)
    retry = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "这笔不是我借的", 8002)))

    assert retry.text == "success"
    assert len(fake_rasa.turns) == 1
    assert len((await session.scalars(select(Escalation))).all()) == 1
    senders = [m.sender for m in await messages_of(session)]
    assert senders == [Sender.BOT, Sender.BORROWER, Sender.BOT, Sender.SYSTEM]


async def test_wechat_distress_gets_the_crisis_line_without_asking_the_bot(client, fake_rasa):
    response = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "活着 没意思", 8003)))

    content = sim.reply_content(response.text)
    assert "12356" in content and "120 或 110" in content
    assert fake_rasa.turns == []


async def test_slow_turn_pushes_the_system_messages_too(client, app, session, fake_rasa, fake_wechat):
    app.state.wechat.settings = app.state.wechat.settings.model_copy(update={"wechat_passive_reply_seconds": 0.0})
    fake_rasa.down = True

    assert (await post(client, sim.plaintext_post(sim.text_xml(OPENID, "你好", 8004)))).text == "success"
    await app.state.wechat.drain()

    pushed = [m["text"]["content"] for m in fake_wechat.state.sent]
    assert len(pushed) == 2 and "已经保存" in pushed[1] and "您是下一位" in pushed[1]


async def test_resubscribing_keeps_a_conversation_waiting_for_a_person(client, session, fake_rasa):
    await post(client, sim.plaintext_post(sim.text_xml(OPENID, "活不下去了", 8005)))

    response = await post(client, sim.plaintext_post(sim.subscribe_xml(OPENID)))

    assert "AI助手" in sim.reply_content(response.text)
    session.expire_all()
    [conversation] = (await session.scalars(select(Conversation))).all()
    assert conversation.state == ConversationState.WAITING_FOR_AGENT
    [row] = (await session.scalars(select(Escalation))).all()
    assert row.reason_code == "E3" and row.resolved_at is None


async def test_resubscribing_in_bot_state_closes_the_old_conversation_through_the_state_machine(
    client, session, fake_rasa
):
    await post(client, sim.plaintext_post(sim.text_xml(OPENID, "你好", 8006)))

    await post(client, sim.plaintext_post(sim.subscribe_xml(OPENID)))

    session.expire_all()
    old, new = (await session.scalars(select(Conversation).order_by(Conversation.created_at))).all()
    assert (old.state, old.close_outcome) == (ConversationState.CLOSED, "restarted")
    assert new.state == ConversationState.BOT
    changed = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == "conversation.state_changed")
    )
    assert changed.payload == {"from": "bot", "to": "closed", "outcome": "restarted"}
