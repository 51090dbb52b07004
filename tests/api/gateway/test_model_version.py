"""A1: each bot message records the model that produced it, read from Rasa's /status
once per api process; "rasa" while it cannot be read."""

from sqlalchemy import select

from api.gateway.models import Message, Sender
from tests.api.gateway.fake_rasa import fake_rasa, settings  # noqa: F401
from tests.conftest import open_chat


async def bot_templates(session, conversation_id: str) -> list[str | None]:
    session.expire_all()
    return list((await session.scalars(
        select(Message.template)
        .where(Message.conversation_id == conversation_id, Message.sender == Sender.BOT)
        .order_by(Message.id)
    )).all())


async def say(client, opened: dict, text: str):
    response = await client.post(
        f"/api/v1/chat/sessions/{opened['conversation_id']}/messages", json={"text": text},
        headers={"Authorization": f"Bearer {opened['session_token']}"},
    )
    assert response.status_code == 200, response.text


async def test_bot_messages_record_the_model_version_asked_once(client, session, fake_rasa):
    opened = await open_chat(client)
    await say(client, opened, "你好")
    await say(client, opened, "我欠多少钱")
    other = await open_chat(client)
    await say(client, other, "你好")

    assert await bot_templates(session, opened["conversation_id"]) == [
        "opening_disclosure", "rasa:model-0123456789abcdef", "rasa:model-0123456789abcdef",
    ]
    assert (await bot_templates(session, other["conversation_id"]))[-1] == "rasa:model-0123456789abcdef"
    assert fake_rasa.status_calls == 1


async def test_an_unreadable_status_keeps_rasa_and_is_not_asked_every_turn(client, session, fake_rasa):
    fake_rasa.status_code = 500
    opened = await open_chat(client)
    await say(client, opened, "你好")
    await say(client, opened, "还在吗")

    assert await bot_templates(session, opened["conversation_id"]) == ["opening_disclosure", "rasa", "rasa"]
    assert fake_rasa.status_calls == 1  # retried only after a minute
