"""System messages the gateway itself sends about a handoff (texts in messages.zh.yml).

They tell the borrower honestly what happens next: that a person will answer here and
how many people are ahead in the queue. Distress (E3) adds the crisis line first. None
of these texts mentions money or the debt: they are shown to people in crisis too.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.config import Settings
from api.core.db import utcnow
from api.core.templates import render
from api.gateway.models import Message, MessageStatus, Sender

# Messages that already told a waiting borrower where they stand in the queue.
QUEUE_TEMPLATES = ("handoff_queued", "handoff_waiting_reminder", "bot_unavailable_handoff")


def system_message(conversation_id: str, template: str, payload: dict | None = None, **values) -> Message:
    return Message(
        conversation_id=conversation_id,
        sender=Sender.SYSTEM,
        text=render(template, **values),
        template=template,
        payload=payload,
        status=MessageStatus.SENT,
    )


def queue_phrase(ahead: int) -> str:
    return render("queue_next") if ahead == 0 else render("queue_ahead", ahead=str(ahead))


def emergency_numbers(settings: Settings) -> str:
    """"120/110" → "120 或 110"."""
    return " 或 ".join(n.strip() for n in settings.emergency_numbers.split("/") if n.strip())


def crisis_line(conversation_id: str, settings: Settings) -> Message:
    return system_message(
        conversation_id, "crisis_line",
        crisis_line=settings.crisis_line, emergency_numbers=emergency_numbers(settings),
    )


def distress_empathy(conversation_id: str) -> Message:
    return system_message(conversation_id, "distress_empathy")


def queued(conversation_id: str, ahead: int) -> Message:
    return system_message(conversation_id, "handoff_queued", queue=queue_phrase(ahead))


def waiting_reminder(conversation_id: str, ahead: int) -> Message:
    return system_message(conversation_id, "handoff_waiting_reminder", queue=queue_phrase(ahead))


def bot_unavailable(conversation_id: str, settings: Settings, *, error: str, ahead: int | None) -> Message:
    """The apology when the bot is down; with the queue place when it escalated."""
    payload = {"error": error[:500]}
    if ahead is None:
        return system_message(conversation_id, "bot_unavailable", payload,
                              lender_hotline=settings.lender_hotline)
    return system_message(conversation_id, "bot_unavailable_handoff", payload,
                          lender_hotline=settings.lender_hotline, queue=queue_phrase(ahead))


def conversation_closed(conversation_id: str, settings: Settings) -> Message:
    return system_message(conversation_id, "conversation_closed", lender_hotline=settings.lender_hotline)


async def reminder_due(session: AsyncSession, conversation_id: str, settings: Settings) -> bool:
    """At most one queue message per HANDOFF_REMINDER_MINUTES: never silence, never a flood."""
    last = await session.scalar(
        select(Message.created_at)
        .where(
            Message.conversation_id == conversation_id,
            Message.sender == Sender.SYSTEM,
            Message.template.in_(QUEUE_TEMPLATES),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    return last is None or utcnow() - last >= timedelta(minutes=settings.handoff_reminder_minutes)
