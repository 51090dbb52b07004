"""Route one stored borrower message by the conversation's state.

- bot: the self-harm tripwire first (a hit never reaches Rasa), then Rasa. A reply
  carrying `custom.handoff` escalates; Rasa down or too slow escalates as bot_failure.
- waiting_for_agent: stored for the collector; a queue reminder at most every N minutes.
- agent: stored for the collector; the bot stays silent.
- closed: the borrower is told the conversation has ended.

Each turn is one transaction after the Rasa call (the inbound message was committed
before it). Pausing Rasa's tracker is a call to the outside world, so it happens only
after that commit, and its outcome is recorded separately. After the commit a hint goes
on the live-update bus (api/gateway/hints.py): the borrower's other screens and the
collector console re-read the conversation, and the queue when an escalation changed it.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.config import Settings
from api.core.events import EventBus
from api.core.metrics import TURN_SECONDS, count_action_failure, count_rasa_error
from api.core.request_id import METADATA_KEY, ensure_request_id
from api.gateway import notices, tripwire
from api.gateway.errors import IllegalTransition
from api.gateway.escalation import (
    Escalated,
    escalate,
    open_escalation,
    parse_reason,
    pause_tracker,
    queue_ahead,
)
from api.gateway.handoff import current_state
from api.gateway.hints import announce
from api.gateway.models import ConversationState, Message, MessageStatus, ReasonCode, Sender
from api.gateway.rasa_client import UNKNOWN_MODEL, BotReply, BotUnavailable, RasaClient

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Inbound:
    """A stored borrower message. `duplicate` means the channel delivered it before."""

    message_id: int
    conversation_id: str
    state: ConversationState
    duplicate: bool = False
    channel: str = "web"  # the conversation's channel: a label of the turn-latency metric


@dataclass(frozen=True)
class Turn:
    """What the borrower gets back for one message, and the state after it."""

    messages: list[Message]
    state: ConversationState


@dataclass
class _Outcome:
    messages: list[Message]
    escalated: Escalated | None = None


async def route_inbound(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    inbound: Inbound,
    text: str,
    rasa: RasaClient,
    settings: Settings,
    events: EventBus,
) -> Turn:
    started = time.perf_counter()
    phrase = tripwire.match(text)
    answer: list[BotReply] | BotUnavailable | None = None
    model = None
    if inbound.state == ConversationState.BOT and phrase is None:
        # A1: which model answers (asked once per process, alongside the turn; never raises).
        version = asyncio.create_task(rasa.model_version(
            token=settings.rasa_token.get_secret_value(), timeout=settings.rasa_control_timeout_seconds,
        ))
        try:
            # The stored message's id travels with it, so an action can cite the
            # borrower's own words (the 确认 an agreement rests on, D3); the request id
            # comes back on the action server's calls to the api (api/core/request_id.py).
            answer = await rasa.send(
                sender_id=inbound.conversation_id, text=text,
                metadata={"message_id": inbound.message_id, METADATA_KEY: ensure_request_id()},
            )
        except BotUnavailable as exc:
            answer = exc
            count_rasa_error("turn", exc)
        model = await version

    async with sessionmaker.begin() as session:
        if inbound.state == ConversationState.CLOSED:
            outcome = _Outcome([notices.conversation_closed(inbound.conversation_id, settings)])
        elif inbound.state != ConversationState.BOT:
            outcome = await _with_person(session, inbound=inbound, settings=settings, phrase=phrase)
        elif phrase is not None:
            outcome = await _distress(session, inbound=inbound, settings=settings, phrase=phrase)
        elif isinstance(answer, BotUnavailable):
            outcome = await _bot_failed(session, inbound=inbound, settings=settings, error=str(answer))
        else:
            outcome = await _bot_replied(
                session, inbound=inbound, settings=settings, replies=answer, model=model
            )
        session.add_all(outcome.messages)
        state = await current_state(session, inbound.conversation_id)

    escalated = outcome.escalated
    announce(
        events, inbound.conversation_id,
        message_id=max((m.id for m in outcome.messages), default=inbound.message_id),
        queue_changed=escalated is not None and (escalated.opened or escalated.upgraded),
    )
    if outcome.escalated is not None and outcome.escalated.opened:
        await pause_tracker(
            sessionmaker, escalation_id=outcome.escalated.escalation.id,
            conversation_id=inbound.conversation_id, rasa=rasa, settings=settings,
        )
    TURN_SECONDS.labels(channel=inbound.channel, state=inbound.state).observe(
        time.perf_counter() - started
    )
    # Text-less bot items (a bare handoff signal) stay in the transcript, not the chat.
    return Turn([m for m in outcome.messages if m.text], state)


async def _mark(
    session: AsyncSession, inbound: Inbound, status: MessageStatus, payload: dict | None = None
) -> None:
    stored = await session.get(Message, inbound.message_id)
    stored.status = status
    if payload:
        stored.payload = {**(stored.payload or {}), **payload}


async def _escalate(
    session: AsyncSession, *, inbound: Inbound, reason: ReasonCode, note: str | None, source: str
) -> Escalated | None:
    try:
        return await escalate(
            session, conversation_id=inbound.conversation_id, reason=reason, note=note,
            actor=SYSTEM_ACTOR, source=source,
        )
    except IllegalTransition:
        # Closed by someone else while this turn ran: nothing left to escalate.
        log.info("conversation %s closed before escalation (%s)", inbound.conversation_id, reason)
        return None


def _handoff_notices(
    inbound: Inbound, escalated: Escalated | None, reason: ReasonCode, settings: Settings
) -> list[Message]:
    """E3: the crisis line first; a new escalation: the honest place in the queue."""
    if escalated is None:
        return []
    found = []
    if reason == ReasonCode.DISTRESS:
        found.append(notices.crisis_line(inbound.conversation_id, settings))
    if escalated.opened:
        found.append(notices.queued(inbound.conversation_id, escalated.ahead))
    return found


def _handoff_signal(replies: list[BotReply]) -> dict | None:
    for reply in replies:
        handoff = (reply.custom or {}).get("handoff") if isinstance(reply.custom, dict) else None
        if isinstance(handoff, dict):
            return handoff
    return None


async def _bot_replied(
    session: AsyncSession, *, inbound: Inbound, settings: Settings, replies: list[BotReply],
    model: str | None,
) -> _Outcome:
    await _mark(session, inbound, MessageStatus.ROUTED)
    messages = [
        Message(
            conversation_id=inbound.conversation_id, sender=Sender.BOT, text=reply.text,
            payload={"custom": reply.custom} if reply.custom else None,
            # A1: the model that produced it ("rasa:model-<hash>"), "rasa" if unknown.
            template=model or UNKNOWN_MODEL, status=MessageStatus.SENT,
        )
        for reply in replies
    ]
    handoff = _handoff_signal(replies)
    if handoff is None:
        return _Outcome(messages)
    count_action_failure(str(handoff.get("reason_code")))  # the action server could not use the api
    reason, unknown = parse_reason(handoff.get("reason_code"))
    note = handoff.get("note") if isinstance(handoff.get("note"), str) else None
    note = "; ".join(p for p in (unknown, note) if p) or None
    escalated = await _escalate(session, inbound=inbound, reason=reason, note=note, source="bot")
    return _Outcome(messages + _handoff_notices(inbound, escalated, reason, settings), escalated)


async def _bot_failed(
    session: AsyncSession, *, inbound: Inbound, settings: Settings, error: str
) -> _Outcome:
    await _mark(session, inbound, MessageStatus.ROUTING_FAILED)
    escalated = await _escalate(
        session, inbound=inbound, reason=ReasonCode.BOT_FAILURE, note=error[:200], source="bot_failure"
    )
    ahead = escalated.ahead if escalated is not None and escalated.opened else None
    apology = notices.bot_unavailable(inbound.conversation_id, settings, error=error, ahead=ahead)
    return _Outcome([apology], escalated)


async def _distress(
    session: AsyncSession, *, inbound: Inbound, settings: Settings, phrase: str
) -> _Outcome:
    """Tripwire hit in bot state: the message never reaches Rasa; a person comes, urgently."""
    await _mark(session, inbound, MessageStatus.ROUTED, {"tripwire": phrase})
    escalated = await _escalate(
        session, inbound=inbound, reason=ReasonCode.DISTRESS, note="self-harm tripwire", source="tripwire"
    )
    messages = [notices.distress_empathy(inbound.conversation_id)]
    messages += _handoff_notices(inbound, escalated, ReasonCode.DISTRESS, settings)
    return _Outcome(messages, escalated)


async def _with_person(
    session: AsyncSession, *, inbound: Inbound, settings: Settings, phrase: str | None
) -> _Outcome:
    """waiting_for_agent or agent: the collector reads it; the bot never sees it.

    Distress is still caught: the crisis line at once and the escalation made urgent.
    """
    waiting = inbound.state == ConversationState.WAITING_FOR_AGENT
    # waiting: kept as received until a collector claims the conversation;
    # agent: the collector has it (routed to a person).
    await _mark(session, inbound, MessageStatus.RECEIVED if waiting else MessageStatus.ROUTED,
                {"tripwire": phrase} if phrase else None)
    messages: list[Message] = []
    escalated = None
    if phrase:
        escalated = await _escalate(session, inbound=inbound, reason=ReasonCode.DISTRESS,
                                    note="self-harm tripwire", source="tripwire")
        if waiting:
            messages.append(notices.distress_empathy(inbound.conversation_id))
        messages.append(notices.crisis_line(inbound.conversation_id, settings))
    if waiting and (phrase or await notices.reminder_due(session, inbound.conversation_id, settings)):
        escalation = await open_escalation(session, inbound.conversation_id)
        if escalation is not None:
            ahead = await queue_ahead(session, escalation)
            messages.append(notices.waiting_reminder(inbound.conversation_id, ahead))
    return _Outcome(messages, escalated)
