"""A collector's message to the borrower: holder check, pre-send guard, then delivery.

Only the collector holding the claim may write, and only while the conversation is with
a person. The guard runs against the conversation's verification as stored *now*.
A refused draft is audited and never stored as a message. A passing one is handed to
api/gateway/outbound.py (`deliver_agent_message`: stored as an `agent` message with its
author in its own transaction, then delivered through the borrower's channel), and the
send is audited with the guard's verdict and the stored message id (A1).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append
from api.console.access import console_conversation, party_verified, require_holder
from api.console.guard import Verdict, screen_draft
from api.gateway.models import Message
from api.users.models import User

# deliver(text) stores and delivers the collector's message; returns the stored row.
Deliver = Callable[[str], Awaitable[Message]]


@dataclass(frozen=True)
class SendOutcome:
    verdict: Verdict
    message: Message | None  # None: blocked


async def send_as_collector(
    session: AsyncSession, *, conversation_id: str, user: User, text: str, deliver: Deliver
) -> SendOutcome:
    await require_holder(session, conversation_id=conversation_id, user=user)
    conversation = await console_conversation(session, conversation_id)
    await session.refresh(conversation)  # a third-party report may have revoked verification
    actor = f"user:{user.id}"
    verdict = await screen_draft(
        session, conversation_id=conversation_id, text=text,
        party_verified=party_verified(conversation), actor=actor,
    )
    if verdict.blocked:
        return SendOutcome(verdict, None)
    message = await deliver(text)
    await append(
        session, actor=actor, action=AuditAction.CONSOLE_MESSAGE_SENT,
        subject=f"conversation:{conversation_id}",
        payload={"message_id": message.id, "guard": "passed", "party_verified": verdict.party_verified,
                 "status": str(message.status)},
    )
    return SendOutcome(verdict, message)
