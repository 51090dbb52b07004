"""The collector queue: every open escalation, most urgent first, then longest waiting.

Urgency comes from api/gateway/escalation.py (URGENCY: distress 1; dispute, lawyer,
bereavement, review, complaint 2; requests for a person 3; failed negotiations and
failures 4), so the borrower's "N ahead" and the collector's order are the same order.
Claimed escalations stay listed (with who has them) until handed back or closed.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.db import utcnow
from api.gateway.models import Conversation, Escalation
from api.users.models import User


@dataclass(frozen=True)
class QueueEntry:
    escalation: Escalation
    channel: str
    state: str
    verified: bool
    claimed_by_name: str | None
    waiting_seconds: int


async def list_queue(session: AsyncSession, *, now: datetime | None = None) -> list[QueueEntry]:
    now = now or utcnow()
    rows = (
        await session.execute(
            select(Escalation, Conversation.channel, Conversation.state, Conversation.verified_at,
                   User.display_name)
            .join(Conversation, Conversation.id == Escalation.conversation_id)
            .outerjoin(User, User.id == Escalation.claimed_by)
            .where(Escalation.resolved_at.is_(None))
            .order_by(Escalation.urgency, Escalation.created_at, Escalation.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    return [
        QueueEntry(
            escalation=escalation, channel=channel, state=state, verified=verified_at is not None,
            claimed_by_name=name,
            waiting_seconds=max(0, int((now - escalation.created_at).total_seconds())),
        )
        for escalation, channel, state, verified_at, name in rows
    ]
