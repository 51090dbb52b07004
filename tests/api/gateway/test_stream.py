"""The borrower's live stream (Server-Sent Events) against a real uvicorn server: only
the session's own token opens it, a reconnect resumes after the last id, and what is
stored later (a collector's message, an escalation, the end) arrives without asking."""

import asyncio

import httpx
import pytest

from api.core.events import conversation_topic
from api.gateway import escalation as esc
from api.gateway.hints import announce
from api.gateway.models import CloseOutcome, ReasonCode
from api.gateway.outbound import deliver_agent_message
from tests.api.gateway.live_server import serve, sse_events
from tests.api.users.builders import fast_password_hashing, make_user  # noqa: F401

KEEPALIVE_SECONDS = 0.3


@pytest.fixture
def settings(settings, request):
    # @pytest.mark.keepalive(seconds): a test that must tell a hint from a re-read.
    marker = request.node.get_closest_marker("keepalive")
    seconds = marker.args[0] if marker else KEEPALIVE_SECONDS
    return settings.model_copy(update={"chat_stream_keepalive_seconds": seconds})


@pytest.fixture
async def live(settings):
    async for served in serve(settings):
        yield served


@pytest.fixture
async def http(live):
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
        yield client


async def open_chat(http) -> tuple[str, dict, list[dict]]:
    opened = (await http.post("/api/v1/chat/sessions", json={"channel": "web"})).json()
    auth = {"Authorization": f"Bearer {opened['session_token']}"}
    return opened["conversation_id"], auth, opened["messages"]


def stream_path(conversation_id: str) -> str:
    return f"/api/v1/chat/sessions/{conversation_id}/stream"


async def next_event(events, *, kind: str | None = None, timeout: float = 5.0):
    """The next event (skipping keep-alives unless kind == "comment")."""
    async with asyncio.timeout(timeout):
        async for event in events:
            if kind == "comment" and event.comments:
                return event
            if event.event is not None and kind in (None, event.event):
                return event
    raise AssertionError("stream ended")


async def claimed_by_collector(live, session, conversation_id: str) -> int:
    user = await make_user(session)
    async with live.app.state.sessionmaker.begin() as db:
        await esc.escalate(db, conversation_id=conversation_id, reason=ReasonCode.HUMAN_REQUESTED,
                           note=None, actor="system", source="test")
        await esc.claim(db, conversation_id=conversation_id, user_id=user.id)
    announce(live.app.state.events, conversation_id, message_id=None, queue_changed=True)
    return user.id


async def test_stream_needs_the_conversations_own_session_token(http):
    conversation_id, auth, _ = await open_chat(http)
    other_id, other_auth, _ = await open_chat(http)

    assert (await http.get(stream_path(conversation_id))).status_code == 401
    wrong = await http.get(stream_path(conversation_id), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    foreign = await http.get(stream_path(conversation_id), headers=other_auth)
    assert foreign.status_code == 401
    unknown = await http.get(stream_path("00000000-0000-4000-8000-000000000000"), headers=auth)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "ConversationNotFound"


async def test_a_reconnect_gets_only_the_messages_after_its_last_event_id(http):
    conversation_id, auth, opening = await open_chat(http)
    # Rasa is down in these tests: the borrower's message and the honest apology.
    replies = (await http.post(f"/api/v1/chat/sessions/{conversation_id}/messages",
                               json={"text": "你好"}, headers=auth)).json()["messages"]

    async def backlog(**request) -> list:
        async with http.stream("GET", stream_path(conversation_id), **request) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            return [e async for e in sse_events(response) if e.event]

    everything = await backlog(headers=auth, params={"wait": 0})
    messages = [e.json() for e in everything if e.event == "message"]
    assert [m["sender"] for m in messages] == ["bot", "borrower", "system"]
    assert [m["id"] for m in messages] == [int(e.id) for e in everything if e.event == "message"]
    assert messages[0]["id"] == opening[0]["id"] and messages[2]["id"] == replies[0]["id"]
    assert messages[1]["text"] == "你好"
    assert everything[-1].event == "state" and everything[-1].json() == {"state": "waiting_for_agent"}

    resumed = await backlog(headers={**auth, "Last-Event-ID": str(messages[1]["id"])}, params={"wait": 0})
    assert [e.json()["id"] for e in resumed if e.event == "message"] == [messages[2]["id"]]
    by_query = await backlog(headers=auth, params={"wait": 0, "after": messages[0]["id"]})
    assert [e.json()["id"] for e in by_query if e.event == "message"] == [m["id"] for m in messages[1:]]


@pytest.mark.keepalive(30)
async def test_a_collectors_message_arrives_live(live, http, session):
    conversation_id, auth, _ = await open_chat(http)
    user_id = await claimed_by_collector(live, session, conversation_id)

    async with http.stream("GET", stream_path(conversation_id), headers=auth) as response:
        events = sse_events(response)
        assert (await next_event(events, kind="message")).json()["sender"] == "bot"  # opening
        assert (await next_event(events, kind="state")).json() == {"state": "agent"}
        stored = await deliver_agent_message(
            live.app.state.sessionmaker, conversation_id=conversation_id,
            text="您好，我是人工客服小王 😊", user_id=user_id, app_state=live.app.state,
        )
        # Long before the keep-alive re-read (30 s) could find it: the hint woke the stream.
        live_event = await next_event(events, kind="message", timeout=3)
    assert int(live_event.id) == stored.id
    assert live_event.json() | {"at": None} == {
        "id": stored.id, "sender": "agent", "text": "您好，我是人工客服小王 😊", "at": None, "state": "agent",
    }
    assert (stored.sender, stored.template, stored.status) == ("agent", None, "sent")
    assert stored.payload == {"user_id": user_id}


async def test_an_escalation_sends_a_state_event_and_the_notices(http):
    conversation_id, auth, _ = await open_chat(http)
    async with http.stream("GET", stream_path(conversation_id), headers=auth) as response:
        events = sse_events(response)
        assert (await next_event(events, kind="state")).json() == {"state": "bot"}
        # The self-harm tripwire escalates without Rasa (E3).
        await http.post(f"/api/v1/chat/sessions/{conversation_id}/messages",
                        json={"text": "我真的不想活了"}, headers=auth)
        seen = []
        while (event := await next_event(events)).event == "message":
            seen.append(event.json())
    assert event.json() == {"state": "waiting_for_agent"}
    assert seen[0]["sender"] == "borrower"
    assert {m["sender"] for m in seen[1:]} == {"system"} and len(seen) >= 3
    assert any("12356" in m["text"] for m in seen)  # the crisis line


async def test_an_idle_stream_sends_keep_alive_comments(http):
    conversation_id, auth, _ = await open_chat(http)
    async with http.stream("GET", stream_path(conversation_id), headers=auth) as response:
        events = sse_events(response)
        comment = await next_event(events, kind="comment", timeout=KEEPALIVE_SECONDS * 5)
    assert comment.comments == ["keep-alive"] and comment.event is None


async def test_closing_the_conversation_ends_the_stream(live, http):
    conversation_id, auth, _ = await open_chat(http)
    async with http.stream("GET", stream_path(conversation_id), headers=auth) as response:
        events = sse_events(response)
        await next_event(events, kind="state")
        async with live.app.state.sessionmaker.begin() as db:
            await esc.close(db, conversation_id=conversation_id, outcome=CloseOutcome.RESOLVED, actor="user:1")
        announce(live.app.state.events, conversation_id, message_id=None)
        assert (await next_event(events, kind="state")).json() == {"state": "closed"}
        async with asyncio.timeout(2):
            rest = [e async for e in events]  # the server ends the response
    assert all(e.event is None for e in rest)
    # A closed conversation's stream answers with what there is, and ends at once.
    async with http.stream("GET", stream_path(conversation_id), headers=auth) as again:
        async with asyncio.timeout(2):
            kinds = [e.event async for e in sse_events(again) if e.event]
    assert kinds == ["message", "state"]


async def test_a_client_that_leaves_is_unsubscribed(live, http):
    conversation_id, auth, _ = await open_chat(http)
    topic = conversation_topic(conversation_id)
    async with http.stream("GET", stream_path(conversation_id), headers=auth) as response:
        await next_event(sse_events(response), kind="state")
        assert live.app.state.events.subscriber_count(topic) == 1
    async with asyncio.timeout(3):
        while live.app.state.events.subscriber_count(topic):
            await asyncio.sleep(0.05)
