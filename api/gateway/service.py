"""Gateway: store every borrower message first, then route it, then store the replies.

This is the one place with two transactions per request, on purpose: the inbound
message must be durable before Rasa is asked, so nothing is lost if Rasa is down.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.config import Settings
from api.core.errors import ConversationNotFound, NotAuthenticated, TooManyMessages
from api.core.security import new_session_token, same_secret, token_hash
from api.core.templates import render
from api.gateway.models import (
    Channel,
    Conversation,
    ConversationState,
    Message,
    MessageStatus,
    Sender,
)
from api.gateway.rasa_client import BotUnavailable, RasaClient
from api.gateway.rate_limit import SlidingWindowLimiter


@dataclass(frozen=True)
class OpenedSession:
    conversation: Conversation
    session_token: str
    messages: list[Message]


@dataclass(frozen=True)
class Inbound:
    """A stored borrower message. `duplicate` means the channel delivered it before."""

    message_id: int
    conversation_id: str
    state: ConversationState
    duplicate: bool = False


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
    # D1: the first message of every conversation discloses lender, AI, purpose,
    # recording and the way to a human.
    opening = Message(
        conversation=conversation,
        sender=Sender.BOT,
        text=render(
            "opening_disclosure",
            lender_legal_name=settings.lender_legal_name,
            lender_hotline=settings.lender_hotline,
        ),
        template="opening_disclosure",
        status=MessageStatus.SENT,
    )
    session.add_all([conversation, opening])
    await session.flush()
    return OpenedSession(conversation=conversation, session_token=token, messages=[opening])


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
            return Inbound(seen, conversation.id, conversation.state, duplicate=True)
    inbound = Message(
        conversation_id=conversation.id,
        sender=Sender.BORROWER,
        text=text,
        channel_message_id=channel_message_id,
        status=MessageStatus.RECEIVED,
    )
    session.add(inbound)
    await session.flush()
    return Inbound(inbound.id, conversation.id, conversation.state)


async def route_inbound(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    inbound: Inbound,
    text: str,
    rasa: RasaClient,
    settings: Settings,
) -> list[Message]:
    """Hand a stored message to the bot and store its replies (or an honest apology)."""
    if inbound.state != ConversationState.BOT:
        # Only the bot state routes to Rasa; a collector picks the message up from the
        # transcript.
        return []
    try:
        replies = await rasa.send(sender_id=inbound.conversation_id, text=text)
        routed = MessageStatus.ROUTED
        outbound = [
            Message(
                conversation_id=inbound.conversation_id,
                sender=Sender.BOT,
                text=reply.text,
                payload={"custom": reply.custom} if reply.custom else None,
                template="rasa",
                status=MessageStatus.SENT,
            )
            for reply in replies
        ]
    except BotUnavailable as exc:
        routed = MessageStatus.ROUTING_FAILED
        outbound = [
            Message(
                conversation_id=inbound.conversation_id,
                sender=Sender.SYSTEM,
                text=render("bot_unavailable", lender_hotline=settings.lender_hotline),
                template="bot_unavailable",
                payload={"error": str(exc)[:500]},
                status=MessageStatus.SENT,
            )
        ]

    async with sessionmaker.begin() as session:
        stored = await session.get(Message, inbound.message_id)
        stored.status = routed
        session.add_all(outbound)
    return outbound


async def receive_web_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    conversation_id: str,
    session_token: str,
    text: str,
    rasa: RasaClient,
    settings: Settings,
    limiter: SlidingWindowLimiter,
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
    replies = await route_inbound(
        sessionmaker, inbound=inbound, text=text, rasa=rasa, settings=settings
    )
    return replies, inbound.state
