"""A collector's message through the borrower's own channel (deliver_agent_message):
web conversations get it on their live stream, WeChat ones as a 客服消息 sent to a local
fake of WeChat's servers; the outcome is recorded on the stored message."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from api.core.db import utcnow
from api.core.errors import ConversationNotFound
from api.core.events import QUEUE_TOPIC, conversation_topic
from api.gateway import escalation as esc
from api.gateway.errors import IllegalTransition, NotConversationHolder
from api.gateway.models import Conversation, Message, MessageStatus, ReasonCode, Sender
from api.gateway.outbound import deliver_agent_message
from tests.api.gateway import wechat_sim as sim
from tests.api.gateway.test_wechat import OPENID, fake_wechat, post, settings  # noqa: F401
from tests.api.users.builders import fast_password_hashing, make_user  # noqa: F401
from tests.conftest import open_chat


async def wechat_conversation(client, session, msg_id: int = 9001) -> str:
    response = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "我要找人工", msg_id)))
    assert response.status_code == 200
    return await session.scalar(select(Conversation.id).where(Conversation.external_user_id == OPENID))


async def claim(app, session, conversation_id: str, username: str = "collector-1") -> int:
    user = await make_user(session, username=username)
    async with app.state.sessionmaker.begin() as db:
        # Rasa is down in these tests, so the first message already escalated (bot_failure).
        if await esc.open_escalation(db, conversation_id) is None:
            await esc.escalate(db, conversation_id=conversation_id, reason=ReasonCode.HUMAN_REQUESTED,
                               note=None, actor="system", source="test")
        await esc.claim(db, conversation_id=conversation_id, user_id=user.id)
    return user.id


async def deliver(app, conversation_id: str, user_id: int, text: str = "您好，我是人工客服，请问有什么可以帮您？"):
    return await deliver_agent_message(
        app.state.sessionmaker, conversation_id=conversation_id, text=text, user_id=user_id,
        app_state=app.state,
    )


async def test_wechat_agent_message_is_sent_as_customer_service_message(app, client, session, fake_wechat):
    conversation_id = await wechat_conversation(client, session)
    user_id = await claim(app, session, conversation_id)

    async with app.state.events.subscribe(conversation_topic(conversation_id)) as hints:
        message = await deliver(app, conversation_id, user_id)
        first, second = await hints.next(1), await hints.next(1)

    assert (message.sender, message.template, message.status) == (Sender.AGENT, None, MessageStatus.DELIVERED)
    assert fake_wechat.state.sent[-1] == {
        "touser": OPENID, "msgtype": "text", "text": {"content": "您好，我是人工客服，请问有什么可以帮您？"},
    }
    # Stored (first hint), then its delivery status recorded (second hint).
    assert first["message_id"] == second["message_id"] == message.id
    session.expire_all()
    assert (await session.get(Message, message.id)).status == MessageStatus.DELIVERED


async def test_refused_wechat_delivery_is_recorded_on_the_message(app, client, session, fake_wechat):
    conversation_id = await wechat_conversation(client, session)
    user_id = await claim(app, session, conversation_id)
    fake_wechat.state.fail_next_send_with = 45015  # response out of time limit

    message = await deliver(app, conversation_id, user_id)

    assert message.status == MessageStatus.DELIVERY_FAILED
    assert "45015" in message.payload["delivery_error"]
    assert message.payload["user_id"] == user_id


async def test_wechat_agent_message_outside_the_48_hour_window_is_kept_not_sent(
    app, client, session, fake_wechat
):
    conversation_id = await wechat_conversation(client, session)
    user_id = await claim(app, session, conversation_id)
    await session.execute(
        update(Message).where(Message.conversation_id == conversation_id, Message.sender == Sender.BORROWER)
        .values(created_at=utcnow() - timedelta(hours=49))
    )
    await session.commit()
    sent_before = len(fake_wechat.state.sent)

    message = await deliver(app, conversation_id, user_id)

    assert message.status == MessageStatus.NOT_SENT_WINDOW_CLOSED
    assert len(fake_wechat.state.sent) == sent_before


async def test_web_agent_message_is_stored_as_sent_and_hinted(app, client, session):
    conversation_id = (await open_chat(client))["conversation_id"]
    user_id = await claim(app, session, conversation_id)

    async with app.state.events.subscribe(conversation_topic(conversation_id), QUEUE_TOPIC) as hints:
        message = await deliver(app, conversation_id, user_id, text="<b>人工客服</b>")
        hint = await hints.next(1)
        assert await hints.next(0.05) is None  # the queue did not change

    assert hint == {"topic": conversation_topic(conversation_id), "conversation_id": conversation_id,
                    "message_id": message.id}
    assert (message.text, message.status) == ("<b>人工客服</b>", MessageStatus.SENT)


async def test_only_the_collector_holding_the_conversation_may_write(app, client, session):
    conversation_id = (await open_chat(client))["conversation_id"]
    with pytest.raises(IllegalTransition):  # still with the bot
        await deliver(app, conversation_id, user_id=1)
    holder = await claim(app, session, conversation_id)
    other = await make_user(session, username="collector-2")
    with pytest.raises(NotConversationHolder):
        await deliver(app, conversation_id, other.id)
    with pytest.raises(ConversationNotFound):
        await deliver(app, "00000000-0000-4000-8000-000000000000", holder)
    session.expire_all()
    agent_messages = await session.scalars(select(Message).where(Message.sender == Sender.AGENT))
    assert agent_messages.all() == []
