"""Escalations: a conversation put in the collector queue, claimed, handed back, closed.

Queue order is urgency (1 = most urgent) then age. A borrower is told their place
honestly: how many open, unclaimed escalations would be picked before theirs.
Services here only flush; the caller's transaction commits the state change, the
escalation row and their audit events together. Tracker control (pause/resume in Rasa)
is a call to the outside world and is recorded whether it works or not.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.audit.models import AuditAction
from api.audit.service import append
from api.core.config import Settings
from api.core.db import utcnow
from api.core.metrics import ESCALATIONS, count_on_commit, count_rasa_error
from api.gateway.errors import IllegalTransition, NoOpenEscalation, TrackerControlFailed
from api.gateway.handoff import current_state, transition
from api.gateway.models import (
    CloseOutcome,
    Conversation,
    ConversationState,
    Escalation,
    ReasonCode,
)
from api.gateway.rasa_client import BotUnavailable, RasaClient

log = logging.getLogger(__name__)

R = ReasonCode
URGENCY: dict[ReasonCode, int] = {
    R.DISTRESS: 1,
    **dict.fromkeys((R.DISPUTE, R.REPRESENTED, R.BEREAVEMENT, R.REVIEW_REQUIRED, R.COMPLAINT), 2),
    **dict.fromkeys((R.HUMAN_REQUESTED, R.VERIFICATION_LOCKED, R.THIRD_PARTY, R.UNSPECIFIED), 3),
    **dict.fromkeys((R.NEGOTIATION_FAILED, R.SERVICE_UNAVAILABLE, R.BOT_FAILURE, R.BROKEN_PROMISE), 4),
}
NOTE_MAX = 500
HANDED_BACK = "handed_back"  # outcome of an escalation whose conversation went back to the bot


@dataclass(frozen=True)
class Escalated:
    escalation: Escalation
    ahead: int  # open, unclaimed escalations that will be picked before this one
    opened: bool  # False: the conversation was already with a person (no new row)
    upgraded: bool = False  # an open escalation became more urgent


def parse_reason(raw: object) -> tuple[ReasonCode, str | None]:
    """The bot's reason code; an unknown one still gets a person, noted as such."""
    try:
        return ReasonCode(str(raw)), None
    except ValueError:
        return ReasonCode.UNSPECIFIED, f"unknown reason code {str(raw)[:40]!r}"


def _note(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text[:NOTE_MAX] or None


async def open_escalation(session: AsyncSession, conversation_id: str) -> Escalation | None:
    return await session.scalar(
        select(Escalation).where(
            Escalation.conversation_id == conversation_id, Escalation.resolved_at.is_(None)
        )
    )


async def queue_ahead(session: AsyncSession, escalation: Escalation) -> int:
    if escalation.claimed_at is not None or escalation.resolved_at is not None:
        return 0
    E = Escalation
    earlier = or_(
        E.urgency < escalation.urgency,
        and_(E.urgency == escalation.urgency, E.created_at < escalation.created_at),
        and_(E.urgency == escalation.urgency, E.created_at == escalation.created_at, E.id < escalation.id),
    )
    return await session.scalar(
        select(func.count(E.id)).where(E.claimed_at.is_(None), E.resolved_at.is_(None), earlier)
    )


async def escalate(
    session: AsyncSession,
    *,
    conversation_id: str,
    reason: ReasonCode,
    note: str | None,
    actor: str,
    source: str,
) -> Escalated:
    """Put the conversation in the queue (bot → waiting_for_agent) with a new escalation.

    Already with a person: no second escalation (retries and concurrent turns stay
    idempotent); a more urgent reason raises the open one's urgency instead.
    """
    state = await current_state(session, conversation_id)
    existing = await open_escalation(session, conversation_id)
    if state in (ConversationState.WAITING_FOR_AGENT, ConversationState.AGENT) and existing:
        upgraded = await _upgrade(session, existing, reason=reason, note=note, actor=actor, source=source)
        return Escalated(existing, await queue_ahead(session, existing), opened=False, upgraded=upgraded)
    if state == ConversationState.BOT:
        await transition(
            session, conversation_id=conversation_id, to=ConversationState.WAITING_FOR_AGENT,
            actor=actor, details={"reason_code": str(reason), "source": source},
        )
    elif state == ConversationState.CLOSED:
        raise IllegalTransition("会话已结束，不能再转人工")
    escalation = Escalation(
        conversation_id=conversation_id, reason_code=reason, urgency=URGENCY[reason],
        note=_note(note), created_at=utcnow(),
    )
    session.add(escalation)
    await session.flush()
    await append(
        session, actor=actor, action=AuditAction.ESCALATION_OPENED,
        subject=f"conversation:{conversation_id}",
        payload={"escalation_id": escalation.id, "reason_code": str(reason),
                 "urgency": escalation.urgency, "source": source, "note": escalation.note},
    )
    count_on_commit(session, ESCALATIONS.labels(reason=str(reason)).inc)
    return Escalated(escalation, await queue_ahead(session, escalation), opened=True)


async def _upgrade(
    session: AsyncSession, escalation: Escalation, *, reason: ReasonCode, note: str | None,
    actor: str, source: str,
) -> bool:
    if URGENCY[reason] >= escalation.urgency:
        return False
    previous = escalation.reason_code
    escalation.reason_code = reason
    escalation.urgency = URGENCY[reason]
    escalation.note = _note(escalation.note, note)
    await append(
        session, actor=actor, action=AuditAction.ESCALATION_UPGRADED,
        subject=f"conversation:{escalation.conversation_id}",
        payload={"escalation_id": escalation.id, "from": str(previous), "to": str(reason),
                 "urgency": escalation.urgency, "source": source},
    )
    return True


async def claim(session: AsyncSession, *, conversation_id: str, user_id: int) -> Escalation:
    """A collector takes the conversation (waiting_for_agent → agent)."""
    escalation = await open_escalation(session, conversation_id)
    if escalation is None:
        raise NoOpenEscalation()
    actor = f"user:{user_id}"
    await transition(
        session, conversation_id=conversation_id, to=ConversationState.AGENT, actor=actor,
        details={"escalation_id": escalation.id},
    )
    escalation.claimed_by, escalation.claimed_at = user_id, utcnow()
    await append(
        session, actor=actor, action=AuditAction.ESCALATION_CLAIMED,
        subject=f"conversation:{conversation_id}", payload={"escalation_id": escalation.id},
    )
    return escalation


async def hand_back(
    session: AsyncSession, *, conversation_id: str, actor: str, rasa: RasaClient, settings: Settings
) -> None:
    """The collector returns the conversation to the bot (agent → bot).

    Rasa's tracker is resumed *before* the state changes: if the resume fails the
    conversation stays with the collector (TrackerControlFailed, 503) rather than
    going to a bot that would silently ignore the borrower.
    """
    state = await current_state(session, conversation_id)
    if state != ConversationState.AGENT:
        raise IllegalTransition(f"会话当前状态为 {state}，只有人工处理中的会话可以交还机器人")
    try:
        await rasa.resume(
            sender_id=conversation_id, token=settings.rasa_token.get_secret_value(),
            timeout=settings.rasa_control_timeout_seconds,
        )
    except BotUnavailable as exc:
        count_rasa_error("resume", exc)
        log.warning("resuming Rasa tracker of %s failed: %s", conversation_id, exc)
        raise TrackerControlFailed() from exc
    await transition(session, conversation_id=conversation_id, to=ConversationState.BOT, actor=actor)
    await _resolve(session, conversation_id=conversation_id, outcome=HANDED_BACK, actor=actor)
    await _audit_tracker(session, conversation_id, event="resume", error=None, actor=actor)


async def close(
    session: AsyncSession, *, conversation_id: str, outcome: CloseOutcome, actor: str
) -> None:
    """End the conversation from any open state; its open escalation is resolved."""
    outcome = CloseOutcome(outcome)
    await transition(
        session, conversation_id=conversation_id, to=ConversationState.CLOSED, actor=actor,
        details={"outcome": str(outcome)},
    )
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(close_outcome=outcome)
    )
    await _resolve(session, conversation_id=conversation_id, outcome=outcome, actor=actor)


async def _resolve(session: AsyncSession, *, conversation_id: str, outcome: str, actor: str) -> None:
    escalation = await open_escalation(session, conversation_id)
    if escalation is None:
        return
    escalation.resolved_at, escalation.outcome = utcnow(), str(outcome)
    await append(
        session, actor=actor, action=AuditAction.ESCALATION_RESOLVED,
        subject=f"conversation:{conversation_id}",
        payload={"escalation_id": escalation.id, "outcome": str(outcome)},
    )


async def pause_tracker(
    sessionmaker: async_sessionmaker[AsyncSession], *, escalation_id: int, conversation_id: str,
    rasa: RasaClient, settings: Settings,
) -> bool:
    """Pause the bot for a conversation a person now owns (after the escalation commits).

    A failure loses nothing: the gateway already stops routing to Rasa by state. It is
    logged and audited, and tracker_paused_at stays empty so the console can retry.
    """
    error = None
    try:
        await rasa.pause(
            sender_id=conversation_id, token=settings.rasa_token.get_secret_value(),
            timeout=settings.rasa_control_timeout_seconds,
        )
    except BotUnavailable as exc:
        count_rasa_error("pause", exc)
        error = str(exc)[:500]
        log.warning("pausing Rasa tracker of %s failed: %s", conversation_id, error)
    async with sessionmaker.begin() as session:
        if error is None:
            await session.execute(
                update(Escalation).where(Escalation.id == escalation_id).values(tracker_paused_at=utcnow())
            )
        await _audit_tracker(session, conversation_id, event="pause", error=error, actor="system",
                             escalation_id=escalation_id)
    return error is None


async def _audit_tracker(
    session: AsyncSession, conversation_id: str, *, event: str, error: str | None, actor: str,
    escalation_id: int | None = None,
) -> None:
    await append(
        session, actor=actor, action=AuditAction.BOT_TRACKER_CONTROLLED,
        subject=f"conversation:{conversation_id}",
        payload={"event": event, "ok": error is None, "error": error, "escalation_id": escalation_id},
    )
