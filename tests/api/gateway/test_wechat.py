"""WeChat Official Account channel against a simulator built on wechatpy, with WeChat's
API servers replaced by a local fake that speaks their protocol. Rasa is unreachable in
these tests, so the bot's turn is the honest apology (the live bot is in tests/e2e)."""

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from api.gateway.models import Conversation, ConversationState, Message, MessageStatus, Sender
from api.loans.models import Borrower
from tests.api.gateway import wechat_sim as sim
from tests.fakes.wechat_server import FakeWeChatServer

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


@pytest.fixture
def fake_wechat():
    with FakeWeChatServer(app_id=sim.APP_ID, app_secret=sim.APP_SECRET) as server:
        yield server


@pytest.fixture
def settings(settings, fake_wechat):
    return settings.model_copy(
        update={
            "wechat_token": SecretStr(sim.TOKEN),
            "wechat_app_id": sim.APP_ID,
            "wechat_app_secret": SecretStr(sim.APP_SECRET),
            "wechat_encoding_aes_key": SecretStr(sim.AES_KEY),
            "wechat_api_base_url": fake_wechat.base_url,
        }
    )


async def post(client, signed: sim.SignedPost):
    return await client.post("/wechat", params=signed.params, content=signed.body)


async def messages_of(session, openid: str = OPENID) -> list[Message]:
    session.expire_all()
    return (
        await session.scalars(
            select(Message)
            .join(Conversation)
            .where(Conversation.external_user_id == openid)
            .order_by(Message.id)
        )
    ).all()


async def test_url_verification_echoes_only_for_a_valid_signature(client):
    fresh = sim.plaintext_post("")
    response = await client.get("/wechat", params={**fresh.params, "echostr": "e42"})
    assert response.status_code == 200 and response.text == "e42"
    forged = {**fresh.params, "signature": "0" * 40, "echostr": "e42"}
    assert (await client.get("/wechat", params=forged)).status_code == 403
    missing = {k: v for k, v in fresh.params.items() if k != "nonce"}
    assert (await client.get("/wechat", params={**missing, "echostr": "e42"})).status_code == 422


async def test_text_message_is_stored_and_answered_with_disclosure_first(client, session):
    response = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "你好", 1001)))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    content = sim.reply_content(response.text)
    opening, apology = content.split("\n\n")
    assert "AI助手" in opening and "记录" in opening  # D1 comes first
    assert "已经保存" in apology
    stored = await messages_of(session)
    assert [(m.sender, m.text) for m in stored][:2] == [(Sender.BOT, opening), (Sender.BORROWER, "你好")]
    assert stored[1].channel_message_id == "1001"


async def test_forged_signature_is_refused_and_nothing_stored(client, session):
    response = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "你好", 1002), token="wrong"))
    assert response.status_code == 403
    assert response.json()["error"] == "WeChatRequestRejected"
    assert await messages_of(session) == []


async def test_replayed_old_request_is_refused(client, session):
    import time

    old = sim.plaintext_post(sim.text_xml(OPENID, "你好", 1003), timestamp=int(time.time()) - 600)
    assert (await post(client, old)).status_code == 403
    assert await messages_of(session) == []


async def test_wechat_retry_with_same_msg_id_is_processed_once(client, session):
    first = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "我欠多少钱", 2001)))
    retry = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "我欠多少钱", 2001)))

    assert first.status_code == 200 and "xml" in first.text
    assert retry.status_code == 200 and retry.text == "success"
    borrower_lines = [m for m in await messages_of(session) if m.sender == Sender.BORROWER]
    assert len(borrower_lines) == 1


async def test_safe_mode_request_gets_an_encrypted_reply(client, session):
    signed = sim.encrypted_post(sim.text_xml(OPENID, "在吗", 3001))
    response = await post(client, signed)
    assert response.status_code == 200
    assert "<Encrypt>" in response.text and "在吗" not in response.text
    assert "AI助手" in sim.reply_content(response.text, encrypted_with=signed)
    assert [m.text for m in await messages_of(session) if m.sender == Sender.BORROWER] == ["在吗"]


async def test_safe_mode_with_tampered_msg_signature_is_refused(client, session):
    signed = sim.encrypted_post(sim.text_xml(OPENID, "在吗", 3002))
    signed.params["msg_signature"] = "f" * 40
    assert (await post(client, signed)).status_code == 403
    assert await messages_of(session) == []


async def test_image_gets_a_polite_text_answer_and_is_kept(client, session):
    response = await post(client, sim.plaintext_post(sim.image_xml(OPENID, 4001)))
    assert "只能看懂文字消息" in sim.reply_content(response.text)
    stored = await messages_of(session)
    assert (Sender.BORROWER, "[图片]") in [(m.sender, m.text) for m in stored]


async def test_subscribe_is_greeted_with_the_opening_disclosure(client):
    response = await post(client, sim.plaintext_post(sim.subscribe_xml(OPENID)))
    content = sim.reply_content(response.text)
    assert "AI助手" in content and "客服热线" in content


async def test_garbage_body_is_a_clear_400_not_a_500(client, session):
    for body in (b"not xml", b"<xml><MsgType>text</MsgType>", "<xml>\udcff</xml>".encode("utf-8", "surrogateescape")):
        signed = sim.plaintext_post("")
        signed.body = body
        response = await post(client, signed)
        assert response.status_code == 400, body
        assert response.json()["error"] == "WeChatMessageMalformed"
    assert await messages_of(session) == []


async def test_slow_turn_answers_success_then_pushes_through_customer_service_api(
    client, app, session, fake_wechat
):
    app.state.wechat.settings = app.state.wechat.settings.model_copy(
        update={"wechat_passive_reply_seconds": 0.0}
    )
    response = await post(client, sim.plaintext_post(sim.text_xml(OPENID, "你好", 5001)))
    assert response.text == "success"

    await app.state.wechat.drain()

    sent = fake_wechat.state.sent
    assert [m["touser"] for m in sent] == [OPENID, OPENID]
    assert "AI助手" in sent[0]["text"]["content"] and "已经保存" in sent[1]["text"]["content"]
    outbound = [m for m in await messages_of(session) if m.sender != Sender.BORROWER]
    assert {m.status for m in outbound} == {MessageStatus.DELIVERED}


async def test_expired_access_token_is_refreshed_once(client, app, session, fake_wechat):
    app.state.wechat.settings = app.state.wechat.settings.model_copy(
        update={"wechat_passive_reply_seconds": 0.0}
    )
    await app.state.wechat.api.access_token()
    fake_wechat.state.fail_next_send_with = 42001
    await post(client, sim.plaintext_post(sim.text_xml(OPENID, "你好", 5002)))
    await app.state.wechat.drain()
    assert len(fake_wechat.state.sent) == 2
    assert fake_wechat.state.token_requests == 2


async def test_refused_push_is_recorded_not_dropped(client, app, session, fake_wechat):
    app.state.wechat.settings = app.state.wechat.settings.model_copy(
        update={"wechat_passive_reply_seconds": 0.0}
    )
    fake_wechat.state.fail_next_send_with = 45015  # "response out of time limit"
    await post(client, sim.plaintext_post(sim.text_xml(OPENID, "你好", 5003)))
    await app.state.wechat.drain()
    outbound = [m for m in await messages_of(session) if m.sender != Sender.BORROWER]
    assert outbound[0].status == MessageStatus.DELIVERY_FAILED
    assert "45015" in outbound[0].payload["delivery_error"]


async def test_nothing_is_pushed_outside_the_48_hour_window(app, session, fake_wechat):
    await post_via(app, sim.text_xml(OPENID, "你好", 6001))
    stored = await messages_of(session)
    await session.execute(
        update(Message).where(Message.sender == Sender.BORROWER).values(
            created_at=stored[0].created_at - timedelta(hours=49)
        )
    )
    await session.commit()
    late = Message(conversation_id=stored[0].conversation_id, sender=Sender.AGENT, text="您好",
                   status=MessageStatus.SENT)
    session.add(late)
    await session.commit()

    await app.state.wechat._push(OPENID, [late])

    await session.refresh(late)
    assert late.status == MessageStatus.NOT_SENT_WINDOW_CLOSED
    assert fake_wechat.state.sent == []


async def post_via(app, xml: str):
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await post(c, sim.plaintext_post(xml))


async def test_verified_openid_is_remembered_for_the_next_conversation(
    client, session, seeded, service_headers
):
    await post(client, sim.plaintext_post(sim.text_xml(OPENID, "你好", 7001)))
    [first] = (await session.scalars(select(Conversation).where(Conversation.external_user_id == OPENID))).all()
    first_id = first.id
    verified = await client.post(
        f"/internal/v1/conversations/{first_id}/identity-verification",
        json={"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"},
        headers=service_headers,
    )
    assert verified.json()["verified"] is True
    borrower = await session.scalar(select(Borrower).where(Borrower.wechat_openid == OPENID))
    assert borrower is not None and borrower.full_name == "张伟"
    borrower_id = borrower.id

    await session.execute(update(Conversation).values(state=ConversationState.CLOSED))
    await session.commit()
    await post(client, sim.plaintext_post(sim.text_xml(OPENID, "我又来了", 7002)))

    session.expire_all()
    latest = await session.scalar(
        select(Conversation).where(Conversation.state != ConversationState.CLOSED)
    )
    assert latest.id != first_id
    assert latest.borrower_id == borrower_id and latest.verified_at is not None
