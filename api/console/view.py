"""Everything a collector needs on one screen: who is this (verification), what is owed
(only once verified, P4), what was offered (quotes, hardship reason), what the borrower
asked about contact (P3), why a person was called (escalations), and the whole
transcript — bot, borrower and earlier collectors — with ID, phone and card numbers
masked (PD2). Opening it is an audit event (A1)."""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Quote
from api.audit.models import AuditAction
from api.audit.service import append
from api.console.access import console_conversation, party_verified
from api.console.notes import NoteView, list_notes
from api.contact_preferences.service import PreferenceSnapshot, get_preferences
from api.core.pii import mask_pii
from api.gateway.models import Conversation, Escalation, Message, Sender
from api.gateway.transcript import DEFAULT_TIMEZONE
from api.loans.models import Borrower
from api.loans.service import LoanDue, amount_due
from api.users.models import User

# Keys under which an outbound collector message records who wrote it.
AUTHOR_KEYS = ("user_id", "author_id", "agent_user_id")


@dataclass(frozen=True)
class MessageView:
    id: int
    sender: str
    text: str
    at: datetime
    template: str | None
    status: str
    author_name: str | None  # the collector, for agent messages


@dataclass(frozen=True)
class EscalationView:
    escalation: Escalation
    claimed_by_name: str | None


@dataclass
class ConversationView:
    conversation: Conversation
    timezone: str
    verified: bool
    borrower: Borrower | None
    loans: list[LoanDue]
    quotes: list[Quote]
    preferences: PreferenceSnapshot | None
    escalations: list[EscalationView]
    messages: list[MessageView]
    notes: list[NoteView] = field(default_factory=list)


def _author_id(message: Message) -> int | None:
    payload = message.payload or {}
    for key in AUTHOR_KEYS:
        if isinstance(payload.get(key), int):
            return payload[key]
    return None


async def message_views(session: AsyncSession, *, conversation_id: str, after: int = 0) -> list[MessageView]:
    """Messages with id > after, masked, agent messages with their author's name."""
    messages = (
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after)
            .order_by(Message.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    author_ids = {a for m in messages if m.sender == Sender.AGENT and (a := _author_id(m)) is not None}
    names = {
        row.id: row.display_name
        for row in await session.execute(select(User.id, User.display_name).where(User.id.in_(author_ids)))
    } if author_ids else {}
    return [
        MessageView(m.id, m.sender, mask_pii(m.text), m.created_at, m.template, m.status,
                    names.get(_author_id(m)) if m.sender == Sender.AGENT else None)
        for m in messages
    ]


async def _escalations(session: AsyncSession, conversation_id: str) -> list[EscalationView]:
    rows = (
        await session.execute(
            select(Escalation, User.display_name)
            .outerjoin(User, User.id == Escalation.claimed_by)
            .where(Escalation.conversation_id == conversation_id)
            .order_by(Escalation.id.desc())
            .execution_options(populate_existing=True)
        )
    ).all()
    return [EscalationView(e, name) for e, name in rows]


async def conversation_view(session: AsyncSession, *, conversation_id: str, user: User) -> ConversationView:
    conversation = await console_conversation(session, conversation_id)
    await session.refresh(conversation)  # verification may have changed since it was loaded
    verified = party_verified(conversation)
    borrower = await session.get(Borrower, conversation.borrower_id) if verified else None
    view = ConversationView(
        conversation=conversation,
        timezone=borrower.timezone if borrower else DEFAULT_TIMEZONE,
        verified=verified,
        borrower=borrower,
        loans=(await amount_due(session, borrower=borrower)).loans if borrower else [],
        quotes=await _quotes(session, conversation_id) if borrower else [],
        preferences=await get_preferences(session, borrower_id=borrower.id) if borrower else None,
        escalations=await _escalations(session, conversation_id),
        messages=await message_views(session, conversation_id=conversation_id),
        notes=await list_notes(session, conversation_id=conversation_id),
    )
    await append(
        session, actor=f"user:{user.id}", action=AuditAction.TRANSCRIPT_VIEWED,
        subject=f"conversation:{conversation_id}",
        payload={"messages": len(view.messages), "masked": True, "via": "console"},
    )
    return view


async def _quotes(session: AsyncSession, conversation_id: str) -> list[Quote]:
    return list((await session.scalars(
        select(Quote).where(Quote.conversation_id == conversation_id).order_by(Quote.created_at.desc())
    )).all())


def local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone))

