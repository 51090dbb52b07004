"""Which conversations a collector may open, and which they may act on.

Reading: only a conversation that asked for a person (has at least one escalation) —
collection staff have no business reading chats the bot handled alone (PD1).
Acting (send, hand back, close): only the collector who holds the claim, while the
conversation is with a person. One rule for collectors and admins alike: an admin who
wants to act claims first, so the transcript always says which person spoke.
"""

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.console.errors import NotInConsole, NotYourConversation
from api.gateway.escalation import open_escalation
from api.gateway.handoff import current_state
from api.gateway.models import Conversation, ConversationState, Escalation
from api.users.models import User


@dataclass(frozen=True)
class Holder:
    user_id: int
    display_name: str


async def console_conversation(session: AsyncSession, conversation_id: str) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    escalated = await session.scalar(
        select(exists().where(Escalation.conversation_id == conversation_id))
    )
    if conversation is None or not escalated:
        raise NotInConsole()
    return conversation


async def current_holder(session: AsyncSession, conversation_id: str) -> Holder | None:
    """Who holds the open escalation now (read fresh, not from the identity map)."""
    row = (
        await session.execute(
            select(User.id, User.display_name)
            .join(Escalation, Escalation.claimed_by == User.id)
            .where(Escalation.conversation_id == conversation_id, Escalation.resolved_at.is_(None))
        )
    ).first()
    return Holder(row.id, row.display_name) if row else None


async def require_holder(session: AsyncSession, *, conversation_id: str, user: User) -> Escalation:
    await console_conversation(session, conversation_id)
    escalation = await open_escalation(session, conversation_id)
    if (
        escalation is None
        or escalation.claimed_by != user.id
        or await current_state(session, conversation_id) != ConversationState.AGENT
    ):
        raise NotYourConversation()
    return escalation


def party_verified(conversation: Conversation) -> bool:
    """P1/P4: is the person in this chat the verified borrower right now? A third party
    report clears verified_at, so this is re-read before every send."""
    return conversation.borrower_id is not None and conversation.verified_at is not None
