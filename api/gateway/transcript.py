"""One conversation's transcript: every party, in order, with UTC and borrower-local time."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append
from api.core.pii import mask_pii
from api.gateway.models import Conversation, Message
from api.loans.models import Borrower

# Shown when the conversation is not (yet) tied to a verified borrower.
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class TranscriptLine:
    id: int
    sender: str
    text: str
    at: datetime
    at_local: datetime
    template: str | None
    status: str


@dataclass(frozen=True)
class Transcript:
    conversation: Conversation
    timezone: str
    lines: list[TranscriptLine]


async def read_transcript(
    session: AsyncSession, *, conversation: Conversation, staff_actor: str | None
) -> Transcript:
    """The borrower reads their own words as written; staff read ID, phone and card
    numbers masked (PD2), and every staff view is an audit event (A1)."""
    zone_name = DEFAULT_TIMEZONE
    if conversation.borrower_id is not None:
        borrower = await session.get(Borrower, conversation.borrower_id)
        zone_name = borrower.timezone
    zone = ZoneInfo(zone_name)
    messages = (
        await session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        )
    ).all()
    lines = [
        TranscriptLine(
            id=m.id,
            sender=m.sender,
            text=mask_pii(m.text) if staff_actor else m.text,
            at=m.created_at,
            at_local=m.created_at.astimezone(zone),
            template=m.template,
            status=m.status,
        )
        for m in messages
    ]
    if staff_actor:
        await append(
            session,
            actor=staff_actor,
            action=AuditAction.TRANSCRIPT_VIEWED,
            subject=f"conversation:{conversation.id}",
            payload={"messages": len(lines), "masked": True},
        )
    return Transcript(conversation=conversation, timezone=zone_name, lines=lines)
