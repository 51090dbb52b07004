"""The borrower's live stream: what is new in a conversation, as it happens.

The database is the source of truth (api/core/events.py): the stream subscribes to the
conversation's hints *before* its first read, sends every message with an id above the
client's cursor, then sleeps until a hint (or a keep-alive tick, which re-reads too, so a
lost hint costs at most one tick) and reads again. A reconnecting client passes the last
id it saw and gets exactly what it missed. Text-less bot items (a bare handoff signal)
advance the cursor but are not sent, as in the chat replies.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.events import EventBus, conversation_topic
from api.gateway.handoff import current_state
from api.gateway.models import ConversationState, Message, Sender


@dataclass(frozen=True)
class MessageEvent:
    id: int
    sender: Sender
    text: str
    at: datetime
    state: ConversationState  # the conversation's state when the message was read


@dataclass(frozen=True)
class StateEvent:
    state: ConversationState


@dataclass(frozen=True)
class KeepAlive:
    pass


StreamItem = MessageEvent | StateEvent | KeepAlive


async def _read_after(
    sessionmaker: async_sessionmaker[AsyncSession], conversation_id: str, after: int
) -> tuple[list[Message], ConversationState]:
    async with sessionmaker() as session:
        messages = (
            await session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.id > after)
                .order_by(Message.id)
            )
        ).all()
        return list(messages), await current_state(session, conversation_id)


async def follow_conversation(
    sessionmaker: async_sessionmaker[AsyncSession],
    events: EventBus,
    *,
    conversation_id: str,
    after: int,
    keepalive_seconds: float,
    max_seconds: float,
) -> AsyncIterator[StreamItem]:
    """Messages with id > `after`, then new ones as they are committed; a StateEvent
    first and whenever the state changes; KeepAlive when idle. Ends when the
    conversation is closed or after `max_seconds` (0: what is there now, then end)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    cursor, sent_state = after, None
    async with events.subscribe(conversation_topic(conversation_id)) as subscription:
        while True:
            messages, state = await _read_after(sessionmaker, conversation_id, cursor)
            for message in messages:
                cursor = message.id
                if message.text:
                    yield MessageEvent(message.id, message.sender, message.text, message.created_at, state)
            if state != sent_state:
                sent_state = state
                yield StateEvent(state)
            remaining = deadline - loop.time()
            if state == ConversationState.CLOSED or remaining <= 0:
                return
            hint = await subscription.next(min(keepalive_seconds, remaining))
            if hint is None and deadline - loop.time() > 0:
                yield KeepAlive()
