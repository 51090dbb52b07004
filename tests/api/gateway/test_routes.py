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
