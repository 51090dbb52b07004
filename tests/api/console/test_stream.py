"""The console's live feed: what a collector's page receives without reloading.

The stream is read at the generator (api/console/stream.py) for live changes — an ASGI
test client buffers a whole response, so an endless stream could not be read through it
— and through the route with `once` for its framing, authorization and snapshot.
"""

import asyncio
import json

from api.console.stream import ConsoleFeed, console_events
from api.gateway.models import Message, MessageStatus, Sender
from tests.api.console.conftest import CONSOLE, url


def parse(chunk: str) -> tuple[str, dict] | None:
    """One SSE event → (event, data); None for a comment (connect, keep-alive)."""
    if chunk.startswith(":"):
        return None
    lines = dict(line.split(": ", 1) for line in chunk.strip().split("\n"))
    return lines["event"], json.loads(lines["data"])


class Reader:
    def __init__(self, app, *, conversation_id: str | None, after: int = 0) -> None:
        feed = ConsoleFeed(app.state.sessionmaker, conversation_id=conversation_id, after=after)
        self.events = console_events(feed, app.state.events, actor="user:1", keepalive=0.5, lifetime=30)

    async def next(self, kind: str, timeout: float = 5.0) -> dict:
        """The next event of `kind` (skipping comments and other kinds)."""
        async def _find() -> dict:
            async for chunk in self.events:
                parsed = parse(chunk)
                if parsed and parsed[0] == kind:
                    return parsed[1]
            raise AssertionError("stream ended")
        return await asyncio.wait_for(_find(), timeout)

    async def close(self) -> None:
        await self.events.aclose()


async def test_snapshot_through_the_route(client, staff, escalate):
    borrower = await escalate("E2")

    response = await client.get(f"{CONSOLE}/stream", params={"once": "true", "conversation_id": borrower.id},
                                headers=staff["collector-a"])

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [p for p in map(parse, response.text.split("\n\n")[:-1]) if p]
    assert [name for name, _ in events] == ["queue", "messages", "notes"]
    assert events[0][1]["items"][0]["conversation_id"] == borrower.id
    assert events[1][1]["state"] == "waiting_for_agent"
    assert "转人工 E2" in [m["text"] for m in events[1][1]["messages"]]


async def test_an_impossible_resume_id_is_refused_before_the_stream_starts(client, staff, escalate):
    borrower = await escalate("E2")
    params = {"once": "true", "conversation_id": borrower.id, "after": str(2**40)}
    response = await client.get(f"{CONSOLE}/stream", params=params, headers=staff["collector-a"])
    assert response.status_code == 422


async def test_the_stream_refuses_borrowers_and_compliance(client, staff, escalate):
    borrower = await escalate("E2")
    params = {"once": "true", "conversation_id": borrower.id}
    assert (await client.get(f"{CONSOLE}/stream", params=params, headers=borrower.auth)).status_code == 401
    assert (await client.get(f"{CONSOLE}/stream", params=params, headers=staff["compliance"])).status_code == 403
    assert (await client.get(f"{CONSOLE}/stream", params=params)).status_code == 401


async def test_queue_changes_arrive_live(app, client, staff, escalate):
    reader = Reader(app, conversation_id=None)
    try:
        assert (await reader.next("queue"))["items"] == []
        borrower = await escalate("E3")
        assert [i["conversation_id"] for i in (await reader.next("queue"))["items"]] == [borrower.id]
        await client.post(url(borrower.id, "claim"), headers=staff["collector-a"])
        [item] = (await reader.next("queue"))["items"]
        assert item["claimed_by"]["display_name"] == "王催收"
    finally:
        await reader.close()


async def test_new_borrower_and_collector_messages_and_notes_arrive_live(app, client, staff, escalate):
    borrower = await escalate("E2")
    await client.post(url(borrower.id, "claim"), headers=staff["collector-a"])
    reader = Reader(app, conversation_id=borrower.id)
    try:
        first = await reader.next("messages")
        assert first["state"] == "agent" and first["messages"]

        await borrower.say("你好，有人吗？")
        assert [m["text"] for m in (await reader.next("messages"))["messages"]] == ["你好，有人吗？"]

        await client.post(url(borrower.id, "messages"), json={"text": "您好，我在的。"}, headers=staff["collector-a"])
        [sent] = (await reader.next("messages"))["messages"]
        assert (sent["sender"], sent["text"]) == ("agent", "您好，我在的。")

        await client.post(url(borrower.id, "notes"), json={"text": "已安抚"}, headers=staff["collector-a"])
        assert [n["text"] for n in (await reader.next("notes"))["notes"]] == ["已安抚"]
    finally:
        await reader.close()


async def test_a_reconnecting_stream_resumes_after_the_last_message_it_had(app, client, staff, escalate):
    borrower = await escalate("E2")
    snapshot = (await client.get(url(borrower.id), headers=staff["collector-a"])).json()
    await borrower.say("补充一句")
    reader = Reader(app, conversation_id=borrower.id, after=snapshot["messages"][-1]["id"])
    try:
        assert [m["text"] for m in (await reader.next("messages"))["messages"]] == ["补充一句"]
    finally:
        await reader.close()


async def test_a_change_that_sent_no_hint_still_arrives_within_a_keepalive(app, session, staff, escalate):
    """E.g. written by another api worker: the keep-alive re-read finds it."""
    borrower = await escalate("E2")
    reader = Reader(app, conversation_id=borrower.id)
    try:
        await reader.next("messages")
        session.add(Message(conversation_id=borrower.id, sender=Sender.BORROWER, text="另一台服务器收到的消息",
                            status=MessageStatus.RECEIVED))
        await session.commit()  # no hint published
        assert [m["text"] for m in (await reader.next("messages"))["messages"]] == ["另一台服务器收到的消息"]
    finally:
        await reader.close()
