"""Builders for the compliance tests: staff headers, crafted conversations, an agreement."""

import uuid
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.templates import render
from api.gateway.models import Channel, Conversation, ConversationState, Message, MessageStatus, Sender
from api.users.models import Role
from tests.api.agreements.helpers import accept, quote_of_kind, verified_chat
from tests.api.users.builders import make_user, user_headers

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # a Monday, 09:00 in Shanghai
OPENING = render("opening_disclosure", lender_legal_name="测试普惠小额贷款有限公司", lender_hotline="400-123-4567")


async def staff_headers(client: httpx.AsyncClient, session: AsyncSession, role: Role = Role.COMPLIANCE) -> dict:
    username = f"{role.value}-{uuid.uuid4().hex[:6]}"
    await make_user(session, username=username, role=role)
    return await user_headers(client, username=username)


async def make_conversation(
    session: AsyncSession,
    lines: list[tuple[str, str]],
    *,
    channel: Channel = Channel.WEB,
    started: datetime = T0,
    borrower_id: int | None = None,
    verified_at: datetime | None = None,
    opening: bool = True,
    step: timedelta = timedelta(seconds=10),
) -> Conversation:
    """A conversation with the opening disclosure and then (sender, text) lines, `step` apart."""
    conversation = Conversation(
        id=str(uuid.uuid4()), channel=channel, state=ConversationState.BOT,
        session_token_hash="0" * 64, borrower_id=borrower_id, verified_at=verified_at, created_at=started,
    )
    session.add(conversation)
    await session.flush()
    at = started
    if opening:
        lines = [("bot:opening_disclosure", OPENING), *lines]
    for sender, text in lines:
        sender, _, template = sender.partition(":")
        session.add(Message(
            conversation_id=conversation.id, sender=Sender(sender), text=text,
            template=template or ("rasa" if sender == "bot" else None),
            status=MessageStatus.ROUTED if sender == "borrower" else MessageStatus.SENT, created_at=at,
        ))
        at += step
    await session.commit()
    return conversation


async def agreement_in_chat(client: httpx.AsyncClient, session: AsyncSession, service_headers: dict) -> tuple[str, int]:
    """A real agreement: verified chat, a quote, the borrower's 确认 in the transcript, accept."""
    conversation_id = await verified_chat(client, service_headers)
    quote = await quote_of_kind(client, service_headers, conversation_id)
    consent = Message(conversation_id=conversation_id, sender=Sender.BORROWER, text="确认",
                      status=MessageStatus.ROUTED)
    session.add(consent)
    await session.commit()
    response = await accept(client, service_headers, conversation_id, quote["quote_id"],
                            consent_message_id=consent.id)
    assert response.status_code in (200, 201), response.text
    return conversation_id, response.json()["agreement_id"]
