"""Conversation state machine: who has the conversation right now.

    bot ──escalate──► waiting_for_agent ──claim──► agent ──hand back──► bot
     any state ──close──► closed (final)

The gateway routes a borrower message to Rasa only in `bot`, so this state is what
keeps the bot from talking over a collector. Every change goes through `transition`:
it refuses steps not in ALLOWED (IllegalTransition, 409), applies the change as a
compare-and-set UPDATE (two requests racing to move the same conversation cannot both
win, on SQLite or PostgreSQL), and records the step in the audit chain (A1).
"""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append
from api.core.db import utcnow
from api.core.errors import ConversationNotFound
from api.gateway.errors import IllegalTransition
from api.gateway.models import Conversation, ConversationState

S = ConversationState
ALLOWED: dict[ConversationState, frozenset[ConversationState]] = {
    S.BOT: frozenset({S.WAITING_FOR_AGENT, S.CLOSED}),
    S.WAITING_FOR_AGENT: frozenset({S.AGENT, S.CLOSED}),
    S.AGENT: frozenset({S.BOT, S.CLOSED}),
    S.CLOSED: frozenset(),
}


def is_allowed(current: ConversationState, to: ConversationState) -> bool:
    return to in ALLOWED[ConversationState(current)]


async def current_state(session: AsyncSession, conversation_id: str) -> ConversationState:
    """The state as stored now (not an ORM object's possibly stale copy)."""
    state = await session.scalar(
        select(Conversation.state).where(Conversation.id == conversation_id)
    )
    if state is None:
        raise ConversationNotFound()
    return ConversationState(state)


async def transition(
    session: AsyncSession,
    *,
    conversation_id: str,
    to: ConversationState,
    actor: str,
    details: dict | None = None,
) -> ConversationState:
    """Move the conversation to `to` and audit it; returns the state it left."""
    current = await current_state(session, conversation_id)
    if not is_allowed(current, to):
        raise IllegalTransition(f"会话当前状态为 {current}，不能转为 {to}")
    moved = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state == current)
        .values(state=to, state_changed_at=utcnow())
    )
    if moved.rowcount != 1:  # another request moved it between our read and write
        raise IllegalTransition("会话状态刚刚发生了变化，请刷新后重试")
    await append(
        session,
        actor=actor,
        action=AuditAction.CONVERSATION_STATE_CHANGED,
        subject=f"conversation:{conversation_id}",
        payload={"from": str(current), "to": str(to), **(details or {})},
    )
    return current
