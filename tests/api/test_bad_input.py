"""Input a database driver cannot take becomes a clear 4xx, never a 500 (found by probing
PostgreSQL, which cannot store NUL in text)."""

from tests.conftest import open_chat


async def test_nul_in_a_conversation_id_is_a_422(client, service_headers):
    for path in ("/internal/v1/conversations/a%00b/amount-due",):
        response = await client.get(path, headers=service_headers)
        assert response.status_code == 422


async def test_nul_in_a_chat_message_is_a_field_error(client):
    chat = await open_chat(client)
    response = await client.post(
        f"/api/v1/chat/sessions/{chat['conversation_id']}/messages",
        json={"text": "你好\u0000"},
        headers={"Authorization": f"Bearer {chat['session_token']}"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "text"


async def test_nul_in_a_session_path_is_a_422(client):
    response = await client.post(
        "/api/v1/chat/sessions/a%00b/messages", json={"text": "你好"}, headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 422


async def test_nul_in_a_login_name_is_refused_not_a_500(client):
    response = await client.post("/api/v1/auth/token", data={"username": "ad\u0000min", "password": "x"})
    assert response.status_code in (401, 422)
