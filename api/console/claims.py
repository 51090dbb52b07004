"""Taking a conversation, giving it back to the bot, closing it — the console's side of
api/gateway/escalation.py, which owns the state machine.

Claim is atomic because escalation.claim moves the conversation with a compare-and-set
UPDATE: of two collectors racing, exactly one UPDATE matches. The loser is not an error
here but an answer naming who has the conversation, audited like every collector act.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append
from api.console.access import Holder, console_conversation, current_holder, party_verified, require_holder
from api.console.texts import borrower_text
from api.core.config import Settings
from api.gateway import escalation as escalations
from api.gateway import notices
from api.gateway.errors import IllegalTransition, NoOpenEscalation
from api.gateway.models import CloseOutcome, Escalation, Message, MessageStatus, Sender
from api.gateway.rasa_client import RasaClient
from api.users.models import User

HANDBACK_TEMPLATE = "console_handback_greeting"


def actor_of(user: User) -> str:
    return f"user:{user.id}"


@dataclass(frozen=True)
class ClaimOutcome:
    """Either the claimed escalation, or who holds the conversation instead."""

    escalation: Escalation | None
    holder: Holder | None


async def claim_conversation(session: AsyncSession, *, conversation_id: str, user: User) -> ClaimOutcome:
    await console_conversation(session, conversation_id)
    try:
        escalation = await escalations.claim(session, conversation_id=conversation_id, user_id=user.id)
    except (IllegalTransition, NoOpenEscalation):
        holder = await current_holder(session, conversation_id)
        if holder is None:
            raise  # nobody has it: closed, handed back or never queued — the 409 as is
        await append(
            session, actor=actor_of(user), action=AuditAction.CONSOLE_CLAIM_REFUSED,
            subject=f"conversation:{conversation_id}",
            payload={"holder_user_id": holder.user_id},
        )
        return ClaimOutcome(None, holder)
    return ClaimOutcome(escalation, None)


def handback_greeting(conversation_id: str, *, verified: bool) -> Message:
    """The bot greets back with context: who is speaking now, and what the borrower can
    do next (a plan still needs their own 确认, D3). No amount: the borrower may not be
    the verified party any more."""
    context = "handback_context_verified" if verified else "handback_context_unverified"
    return Message(
        conversation_id=conversation_id, sender=Sender.BOT,
        text=borrower_text("handback_greeting") + borrower_text(context),
        template=HANDBACK_TEMPLATE, status=MessageStatus.SENT,
    )


async def hand_back_conversation(
    session: AsyncSession, *, conversation_id: str, user: User, rasa: RasaClient, settings: Settings
) -> Message:
    """agent → bot. Rasa's tracker is resumed first (503 and no change if it refuses)."""
    await require_holder(session, conversation_id=conversation_id, user=user)
    await escalations.hand_back(
        session, conversation_id=conversation_id, actor=actor_of(user), rasa=rasa, settings=settings
    )
    conversation = await console_conversation(session, conversation_id)
    greeting = handback_greeting(conversation_id, verified=party_verified(conversation))
    session.add(greeting)
    await session.flush()
    return greeting


async def close_conversation(
    session: AsyncSession, *, conversation_id: str, user: User, outcome: CloseOutcome, settings: Settings
) -> Message:
    """agent → closed with an outcome code; the borrower is told the chat has ended."""
    await require_holder(session, conversation_id=conversation_id, user=user)
    await escalations.close(session, conversation_id=conversation_id, outcome=outcome, actor=actor_of(user))
    notice = notices.conversation_closed(conversation_id, settings)
    session.add(notice)
    await session.flush()
    return notice
