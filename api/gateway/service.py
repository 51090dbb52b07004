"""Gateway: store every borrower message first, then route it (api/gateway/routing.py),
then store the replies.

This is the one place with two transactions per request, on purpose: the inbound
message must be durable before Rasa is asked, so nothing is lost if Rasa is down.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.config import Settings
from api.core.events import EventBus
from api.core.errors import ConversationNotFound, NotAuthenticated, TooManyMessages
from api.core.security import new_session_token, same_secret, token_hash
from api.core.templates import render
from api.gateway.hints import announce
from api.gateway.models import (
    Channel,
    Conversation,
    ConversationState,
    Message,
    MessageStatus,
    Sender,
)
from api.gateway.rasa_client import RasaClient
from api.gateway.rate_limit import SlidingWindowLimiter
from api.gateway.routing import Inbound, route_inbound


@dataclass(frozen=True)
class OpenedSession:
    conversation: Conversation
    session_token: str
    messages: list[Message]


async def open_session(
    session: AsyncSession,
    *,
    channel: Channel,
    settings: Settings,
    external_user_id: str | None = None,
) -> OpenedSession:
    token = new_session_token()
    conversation = Conversation(
        id=str(uuid.uuid4()),
        channel=channel,
        state=ConversationState.BOT,
        session_token_hash=token_hash(token),
        external_user_id=external_user_id,
    )
    opening = opening_disclosure(conversation.id, settings)
    session.add_all([conversation, opening])
    await session.flush()
    return OpenedSession(conversation=conversation, session_token=token, messages=[opening])


def opening_disclosure(conversation_id: str, settings: Settings) -> Message:
    """D1: the first message of every conversation discloses lender, AI, purpose,
    recording and the way to a human."""
    return Message(
        conversation_id=conversation_id,
        sender=Sender.BOT,
        text=render(
            "opening_disclosure",
            lender_legal_name=settings.lender_legal_name,
            lender_hotline=settings.lender_hotline,
        ),
        template="opening_disclosure",
        status=MessageStatus.SENT,
    )


async def authenticate_session(
    session: AsyncSession, *, conversation_id: str, session_token: str
) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    if not same_secret(token_hash(session_token), conversation.session_token_hash):
        raise NotAuthenticated()
    return conversation


async def store_inbound(
    session: AsyncSession,
    *,
    conversation: Conversation,
    text: str,
    channel_message_id: str | None = None,
) -> Inbound:
    """Persist a borrower message before anything else happens to it.

    A channel message id seen before (WeChat retries after 5 s) is not stored again.
    """
    if channel_message_id is not None:
        seen = await session.scalar(
            select(Message.id).where(Message.channel_message_id == channel_message_id)
        )
        if seen is not None:
            return Inbound(seen, conversation.id, conversation.state, duplicate=True,
                           channel=conversation.channel)
    inbound = Message(
        conversation_id=conversation.id,
        sender=Sender.BORROWER,
        text=text,
        channel_message_id=channel_message_id,
        status=MessageStatus.RECEIVED,
    )
    session.add(inbound)
    await session.flush()
    return Inbound(inbound.id, conversation.id, conversation.state, channel=conversation.channel)


async def receive_web_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    conversation_id: str,
    session_token: str,
    text: str,
    rasa: RasaClient,
    settings: Settings,
    limiter: SlidingWindowLimiter,
    events: EventBus,
) -> tuple[list[Message], ConversationState]:
    # Two transactions on purpose: the message is durable before Rasa is asked.
    async with sessionmaker.begin() as session:
        conversation = await authenticate_session(
            session, conversation_id=conversation_id, session_token=session_token
        )
        # Counted only once authenticated, so nobody can exhaust another's allowance.
        if not limiter.allow(conversation.id):
            raise TooManyMessages()
        inbound = await store_inbound(session, conversation=conversation, text=text)
    # The borrower's other screens and a collector watching see it before the bot answers.
    announce(events, inbound.conversation_id, message_id=inbound.message_id)
    turn = await route_inbound(
        sessionmaker, inbound=inbound, text=text, rasa=rasa, settings=settings, events=events
    )
    return turn.messages, turn.state
