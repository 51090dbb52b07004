"""The console's live feed (Server-Sent Events over fetch, so the staff token travels
in the Authorization header and never in a URL or a log line).

What changes is read from the database, not taken from the bus: a hint
(api/core/events.py) only says "look again". The stream subscribes *before* its first
read, so a change that commits in between is still seen; a reconnecting client passes
the last message id it has and loses nothing. Events:

- `queue`     the whole open queue (it is short), on connect and on every queue hint;
- `messages`  new messages of the watched conversation (id > the last sent) and its state;
- `notes`     the watched conversation's internal notes (the console's own topic, so a
              borrower stream never even wakes up for a note).

Every keep-alive interval the stream also re-reads and sends what changed, so a lost hint
(or a change made by another api process) is late by at most that long. The stream ends
after its lifetime (the client reconnects with a fresh token) or when the client goes
away; `once` sends the snapshot and ends, for polling clients.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.audit.models import AuditAction
from api.audit.service import append
from api.console.notes import list_notes
from api.console.queue import list_queue
from api.console.schemas import ConsoleMessageOut, NoteOut, QueueItemOut
from api.console.view import message_views
from api.core.events import QUEUE_TOPIC, EventBus, conversation_topic
from api.gateway.handoff import current_state

KEEPALIVE_SECONDS = 15.0
LIFETIME_SECONDS = 300.0


def notes_topic(conversation_id: str) -> str:
    """Console-only topic: notes are never announced where a borrower stream listens."""
    return f"console-notes:{conversation_id}"


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


class ConsoleFeed:
    """Reads for one stream; each read is its own short transaction (a stream must not
    hold a database connection while it waits)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, conversation_id: str | None,
                 after: int) -> None:
        self.sessionmaker, self.conversation_id, self.after = sessionmaker, conversation_id, after
        self._queue_shape: list | None = None
        self._state: str | None = None

    async def queue(self, *, only_if_changed: bool = False) -> str | None:
        async with self.sessionmaker() as session:
            items = [QueueItemOut.of(e).model_dump(mode="json") for e in await list_queue(session)]
        # Waiting times grow every second: compare what the queue *is*, not how old it is.
        shape = [(i["escalation_id"], i["urgency"], i["state"], i["claimed_by"]) for i in items]
        if only_if_changed and shape == self._queue_shape:
            return None
        self._queue_shape = shape
        return sse("queue", {"items": items})

    async def messages(self, *, only_if_changed: bool = False) -> str | None:
        async with self.sessionmaker() as session:
            new = await message_views(session, conversation_id=self.conversation_id, after=self.after)
            state = str(await current_state(session, self.conversation_id))
        if only_if_changed and not new and state == self._state:
            return None
        self._state = state
        if new:
            self.after = new[-1].id
        return sse("messages", {
            "conversation_id": self.conversation_id, "state": state,
            "messages": [ConsoleMessageOut.of(m).model_dump(mode="json") for m in new],
        })

    async def notes(self) -> str:
        async with self.sessionmaker() as session:
            notes = await list_notes(session, conversation_id=self.conversation_id)
        return sse("notes", {"conversation_id": self.conversation_id,
                             "notes": [NoteOut.of(n).model_dump(mode="json") for n in notes]})

    async def audit_opened(self, actor: str) -> None:
        async with self.sessionmaker.begin() as session:
            await append(session, actor=actor, action=AuditAction.TRANSCRIPT_VIEWED,
                         subject=f"conversation:{self.conversation_id}",
                         payload={"masked": True, "via": "console_stream", "after": self.after})


async def console_events(
    feed: ConsoleFeed,
    events: EventBus,
    *,
    actor: str,
    once: bool = False,
    is_disconnected: Callable[[], Awaitable[bool]] | None = None,
    keepalive: float = KEEPALIVE_SECONDS,
    lifetime: float = LIFETIME_SECONDS,
) -> AsyncIterator[str]:
    cid = feed.conversation_id
    topics = [QUEUE_TOPIC] + ([conversation_topic(cid), notes_topic(cid)] if cid else [])
    async with events.subscribe(*topics) as subscription:
        yield ": connected\n\n"
        yield await feed.queue()
        if cid:
            await feed.audit_opened(actor)
            yield await feed.messages()
            yield await feed.notes()
        if once:
            return
        deadline = asyncio.get_running_loop().time() + lifetime
        while asyncio.get_running_loop().time() < deadline:
            hint = await subscription.next(timeout=keepalive)
            if is_disconnected is not None and await is_disconnected():
                return
            if hint is None:
                # Also a re-read: a hint lost (or published by another process) costs at
                # most one keep-alive interval.
                yield ": keep-alive\n\n"
                for event in (await feed.queue(only_if_changed=True),
                              await feed.messages(only_if_changed=True) if cid else None):
                    if event:
                        yield event
            elif hint["topic"] == QUEUE_TOPIC:
                yield await feed.queue()
            elif hint["topic"] == notes_topic(cid):
                yield await feed.notes()
            else:
                yield await feed.messages()
