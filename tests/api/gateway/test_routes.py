"""Chat contract on the real app; Rasa is unreachable here (see tests/e2e for the live path)."""

from sqlalchemy import select

from api.gateway.models import Message, MessageStatus, Sender
from tests.conftest import open_chat


async def test_opening_message_discloses_lender_ai_recording_and_human_path(client):
    chat = await open_chat(client)

    assert chat["state"] == "bot"
    assert chat["assistant"]["lender_name"] == "测试普惠小额贷款有限公司"
    assert "AI" in chat["assistant"]["ai_label"]
    [opening] = chat["messages"]
    assert opening["sender"] == "bot"
    for required in ("测试普惠小额贷款有限公司", "AI助手", "人工智能生成", "记录", "400-123-4567"):
        assert required in opening["text"], required


async def test_message_without_session_token_is_refused(client):
    chat = await open_chat(client)
    response = await client.post(
        f"/api/v1/chat/sessions/{chat['conversation_id']}/messages", json={"text": "你好"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "NotAuthenticated"


async def test_message_with_another_sessions_token_is_refused(client):
    mine, theirs = await open_chat(client), await open_chat(client)
    response = await client.post(
        f"/api/v1/chat/sessions/{mine['conversation_id']}/messages",
        json={"text": "你好"},
        headers={"Authorization": f"Bearer {theirs['session_token']}"},
    )
    assert response.status_code == 401


async def test_unknown_conversation_is_404(client):
    response = await client.post(
        "/api/v1/chat/sessions/00000000-0000-0000-0000-000000000000/messages",
        json={"text": "你好"},
        headers={"Authorization": "Bearer whatever"},
    )
    assert response.status_code == 404
    assert response.json()["error"] == "ConversationNotFound"


async def test_blank_and_overlong_messages_get_field_errors(client):
    chat = await open_chat(client)
    url = f"/api/v1/chat/sessions/{chat['conversation_id']}/messages"
    auth = {"Authorization": f"Bearer {chat['session_token']}"}
    for body in ({"text": "   "}, {"text": ""}, {"text": "欠" * 2001}, {}, {"text": 42}):
        response = await client.post(url, json=body, headers=auth)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][-1] == "text"


async def test_message_is_kept_and_borrower_told_when_bot_is_down(client, session):
    chat = await open_chat(client)
    response = await client.post(
        f"/api/v1/chat/sessions/{chat['conversation_id']}/messages",
        json={"text": "我欠多少钱"},
        headers={"Authorization": f"Bearer {chat['session_token']}"},
    )

    assert response.status_code == 200
    body = response.json()
    [apology] = body["messages"]
    assert apology["sender"] == "system"
    assert "已经保存" in apology["text"] and "400-123-4567" in apology["text"]

    stored = (
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == chat["conversation_id"])
            .order_by(Message.id)
        )
    ).all()
    assert [(m.sender, m.text) for m in stored][1:] == [
        (Sender.BORROWER, "我欠多少钱"),
        (Sender.SYSTEM, apology["text"]),
    ]
    assert stored[1].status == MessageStatus.ROUTING_FAILED


async def test_health_checks_the_database(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_chat_page_is_served_in_chinese_with_ai_label(client):
    response = await client.get("/chat")
    assert response.status_code == 200
    assert 'lang="zh-CN"' in response.text
    assert 'id="ai-label"' in response.text


async def test_too_many_messages_are_refused_with_a_clear_message_and_not_stored(client, app, session):
    app.state.chat_limiter.limit = 3
    chat = await open_chat(client)
    url = f"/api/v1/chat/sessions/{chat['conversation_id']}/messages"
    auth = {"Authorization": f"Bearer {chat['session_token']}"}
    codes = [(await client.post(url, json={"text": f"第{i}条"}, headers=auth)).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]

    refused = await client.post(url, json={"text": "第5条"}, headers=auth)
    assert refused.json() == {"error": "TooManyMessages", "detail": "您发送消息太快了，请稍等片刻再发送"}
    stored = (await session.scalars(select(Message.text).where(Message.sender == Sender.BORROWER))).all()
    assert stored == ["第0条", "第1条", "第2条"]


async def test_wrong_tokens_do_not_use_up_the_borrowers_allowance(client, app):
    app.state.chat_limiter.limit = 2
    chat = await open_chat(client)
    url = f"/api/v1/chat/sessions/{chat['conversation_id']}/messages"
    for _ in range(5):
        assert (await client.post(url, json={"text": "x"}, headers={"Authorization": "Bearer bad"})).status_code == 401
    ok = await client.post(url, json={"text": "你好"}, headers={"Authorization": f"Bearer {chat['session_token']}"})
    assert ok.status_code == 200
