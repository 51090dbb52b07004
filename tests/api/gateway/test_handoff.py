"""The conversation state machine and the escalation services (claim, hand back, close),
on the real database; only Rasa's HTTP side is faked."""

import itertools

import pytest
from sqlalchemy import select

from api.audit.models import AuditAction, AuditEvent
from api.audit.service import verify
from api.core.errors import AppError
from api.gateway import escalation as esc
from api.gateway.errors import IllegalTransition, TrackerControlFailed
from api.gateway.handoff import ALLOWED, is_allowed, transition
from api.gateway.models import (
    Channel,
    CloseOutcome,
    Conversation,
    ConversationState,
    Escalation,
    ReasonCode,
)
from api.gateway.service import open_session
from tests.api.gateway.fake_rasa import RASA_TOKEN, fake_rasa, settings  # noqa: F401
from tests.api.users.builders import fast_password_hashing, make_user  # noqa: F401

S = ConversationState
EXPECTED = {
    (S.BOT, S.WAITING_FOR_AGENT), (S.BOT, S.CLOSED),
    (S.WAITING_FOR_AGENT, S.AGENT), (S.WAITING_FOR_AGENT, S.CLOSED),
    (S.AGENT, S.BOT), (S.AGENT, S.CLOSED),
}


async def new_conversation(app, settings) -> str:
    async with app.state.sessionmaker.begin() as db:
        opened = await open_session(db, channel=Channel.WEB, settings=settings)
        return opened.conversation.id


async def state_of(app, conversation_id: str) -> ConversationState:
    async with app.state.sessionmaker() as db:
        return (await db.get(Conversation, conversation_id)).state


async def escalated(app, settings, reason=ReasonCode.HUMAN_REQUESTED) -> str:
    conversation_id = await new_conversation(app, settings)
    async with app.state.sessionmaker.begin() as db:
        await esc.escalate(db, conversation_id=conversation_id, reason=reason, note=None,
                           actor="system", source="test")
    return conversation_id


async def claimed(app, settings, session) -> tuple[str, int]:
    conversation_id = await escalated(app, settings)
    user = await make_user(session)
    async with app.state.sessionmaker.begin() as db:
        await esc.claim(db, conversation_id=conversation_id, user_id=user.id)
    return conversation_id, user.id


async def audit_actions(session, conversation_id: str) -> list[str]:
    session.expire_all()
    return list((await session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject == f"conversation:{conversation_id}")
        .order_by(AuditEvent.seq)
    )).all())


def test_allowed_transitions_are_exactly_the_documented_ones():
    allowed = {(a, b) for a, b in itertools.product(S, S) if is_allowed(a, b)}
    assert allowed == EXPECTED
    assert ALLOWED[S.CLOSED] == frozenset()


def test_illegal_transition_is_a_409_app_error_in_chinese():
    error = IllegalTransition()
    assert isinstance(error, AppError) and error.status_code == 409
    assert "状态" in error.detail


@pytest.mark.parametrize("start, to", [
    (S.BOT, S.AGENT), (S.BOT, S.BOT), (S.WAITING_FOR_AGENT, S.BOT), (S.AGENT, S.WAITING_FOR_AGENT),
    (S.CLOSED, S.BOT),
])
async def test_illegal_transitions_are_refused_and_change_nothing(app, settings, session, start, to):
    conversation_id = await new_conversation(app, settings)
    async with app.state.sessionmaker.begin() as db:
        (await db.get(Conversation, conversation_id)).state = start
    with pytest.raises(IllegalTransition):
        async with app.state.sessionmaker.begin() as db:
            await transition(db, conversation_id=conversation_id, to=to, actor="system")
    assert await state_of(app, conversation_id) == start
    assert await audit_actions(session, conversation_id) == []


async def test_each_transition_is_an_audit_event_and_stamps_the_time(app, settings, session):
    conversation_id = await new_conversation(app, settings)
    async with app.state.sessionmaker.begin() as db:
        left = await transition(db, conversation_id=conversation_id, to=S.WAITING_FOR_AGENT, actor="system")
    assert left == S.BOT
    conversation = await session.get(Conversation, conversation_id)
    assert conversation.state == S.WAITING_FOR_AGENT and conversation.state_changed_at is not None
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == AuditAction.CONVERSATION_STATE_CHANGED))
    assert event.payload == {"from": "bot", "to": "waiting_for_agent"}
    assert (await verify(session)).ok


async def test_escalating_twice_keeps_one_open_escalation(app, settings, session):
    conversation_id = await escalated(app, settings)
    async with app.state.sessionmaker.begin() as db:
        again = await esc.escalate(db, conversation_id=conversation_id, reason=ReasonCode.BOT_FAILURE,
                                   note=None, actor="system", source="test")
    assert not again.opened and not again.upgraded
    rows = (await session.scalars(select(Escalation))).all()
    assert [(r.reason_code, r.urgency) for r in rows] == [("E2", 3)]


async def test_a_more_urgent_reason_upgrades_the_open_escalation(app, settings, session):
    conversation_id = await escalated(app, settings)
    async with app.state.sessionmaker.begin() as db:
        again = await esc.escalate(db, conversation_id=conversation_id, reason=ReasonCode.DISTRESS,
                                   note="self-harm tripwire", actor="system", source="tripwire")
    assert again.upgraded and not again.opened
    [row] = (await session.scalars(select(Escalation))).all()
    assert (row.reason_code, row.urgency) == ("E3", 1)
    assert AuditAction.ESCALATION_UPGRADED in await audit_actions(session, conversation_id)


async def test_claim_gives_the_conversation_to_the_collector(app, settings, session):
    conversation_id, user_id = await claimed(app, settings, session)
    assert await state_of(app, conversation_id) == S.AGENT
    row = await session.scalar(select(Escalation))
    assert row.claimed_by == user_id and row.claimed_at is not None and row.resolved_at is None
    assert await audit_actions(session, conversation_id) == [
        "conversation.state_changed", "escalation.opened", "conversation.state_changed", "escalation.claimed",
    ]


async def test_hand_back_resumes_the_tracker_and_returns_the_conversation_to_the_bot(
    app, settings, session, fake_rasa
):
    conversation_id, user_id = await claimed(app, settings, session)
    async with app.state.sessionmaker.begin() as db:
        await esc.hand_back(db, conversation_id=conversation_id, actor=f"user:{user_id}",
                            rasa=app.state.rasa, settings=settings)

    assert await state_of(app, conversation_id) == S.BOT
    [call] = fake_rasa.events
    assert call["body"] == [{"event": "resume"}] and call["params"]["token"] == RASA_TOKEN
    session.expire_all()
    row = await session.scalar(select(Escalation))
    assert row.resolved_at is not None and row.outcome == "handed_back"
    assert (await audit_actions(session, conversation_id))[-3:] == [
        "conversation.state_changed", "escalation.resolved", "bot.tracker_controlled",
    ]


async def test_hand_back_of_an_unclaimed_conversation_is_refused_without_touching_rasa(
    app, settings, fake_rasa
):
    conversation_id = await escalated(app, settings)
    with pytest.raises(IllegalTransition):
        async with app.state.sessionmaker.begin() as db:
            await esc.hand_back(db, conversation_id=conversation_id, actor="user:1",
                                rasa=app.state.rasa, settings=settings)
    assert fake_rasa.events == []
    assert await state_of(app, conversation_id) == S.WAITING_FOR_AGENT


async def test_hand_back_keeps_the_collector_when_rasa_cannot_resume(app, settings, session, fake_rasa):
    conversation_id, user_id = await claimed(app, settings, session)
    fake_rasa.events_status = 500
    with pytest.raises(TrackerControlFailed) as refused:
        async with app.state.sessionmaker.begin() as db:
            await esc.hand_back(db, conversation_id=conversation_id, actor=f"user:{user_id}",
                                rasa=app.state.rasa, settings=settings)
    assert refused.value.status_code == 503
    assert await state_of(app, conversation_id) == S.AGENT


@pytest.mark.parametrize("start", [S.BOT, S.WAITING_FOR_AGENT, S.AGENT])
async def test_close_from_any_open_state_records_the_outcome(app, settings, session, start):
    if start == S.BOT:
        conversation_id = await new_conversation(app, settings)
    elif start == S.WAITING_FOR_AGENT:
        conversation_id = await escalated(app, settings)
    else:
        conversation_id, _ = await claimed(app, settings, session)
    async with app.state.sessionmaker.begin() as db:
        await esc.close(db, conversation_id=conversation_id, outcome=CloseOutcome.PLAN_AGREED, actor="user:9")

    session.expire_all()
    conversation = await session.get(Conversation, conversation_id)
    assert (conversation.state, conversation.close_outcome) == (S.CLOSED, "plan_agreed")
    open_rows = (await session.scalars(select(Escalation).where(Escalation.resolved_at.is_(None)))).all()
    assert open_rows == []
    with pytest.raises(IllegalTransition):
        async with app.state.sessionmaker.begin() as db:
            await esc.close(db, conversation_id=conversation_id, outcome=CloseOutcome.OTHER, actor="user:9")


async def test_a_closed_conversation_cannot_be_escalated(app, settings):
    conversation_id = await new_conversation(app, settings)
    async with app.state.sessionmaker.begin() as db:
        await esc.close(db, conversation_id=conversation_id, outcome=CloseOutcome.RESOLVED, actor="system")
    with pytest.raises(IllegalTransition):
        async with app.state.sessionmaker.begin() as db:
            await esc.escalate(db, conversation_id=conversation_id, reason=ReasonCode.DISPUTE,
                               note=None, actor="system", source="test")


async def test_queue_is_ordered_by_urgency_then_age(app, settings, session):
    first = await escalated(app, settings, ReasonCode.NEGOTIATION_FAILED)  # urgency 4
    second = await escalated(app, settings, ReasonCode.HUMAN_REQUESTED)  # urgency 3
    third = await escalated(app, settings, ReasonCode.HUMAN_REQUESTED)  # urgency 3, later
    urgent = await escalated(app, settings, ReasonCode.DISTRESS)  # urgency 1
    ahead = {}
    for conversation_id in (first, second, third, urgent):
        row = await session.scalar(select(Escalation).where(Escalation.conversation_id == conversation_id))
        ahead[conversation_id] = await esc.queue_ahead(session, row)
    assert [ahead[c] for c in (urgent, second, third, first)] == [0, 1, 2, 3]


@pytest.mark.parametrize("reason, urgency", [
    ("E3", 1), ("E1", 2), ("E4", 2), ("E5", 2), ("E6", 2), ("complaint", 2),
    ("E2", 3), ("verification_locked", 3), ("third_party", 3),
    ("negotiation_failed", 4), ("service_unavailable", 4), ("bot_failure", 4),
])
def test_urgency_follows_the_collector_queue_order(reason, urgency):
    code, unknown = esc.parse_reason(reason)
    assert esc.URGENCY[code] == urgency and unknown is None


def test_unknown_reason_still_gets_a_person():
    code, note = esc.parse_reason("E9")
    assert code == ReasonCode.UNSPECIFIED and "E9" in note
