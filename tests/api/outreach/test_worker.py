"""The worker: claim, gate at send time, record, deliver — with a frozen clock, on
SQLite and PostgreSQL. Races: an opt-out against a queued send, two workers at once, a
lease taken over."""

import asyncio
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, text

from api.audit.models import AuditAction, AuditEvent
from api.audit.service import verify
from api.contact_preferences.rules import ContactChannel
from api.contact_preferences.service import PreferenceUpdate, update_preferences
from api.core.db import make_engine, make_sessionmaker
from api.core.events import conversation_topic
from api.gateway.models import Conversation, Escalation, Message, ReasonCode, Sender
from api.loans.models import ScheduleItem, ScheduleItemStatus
from api.outreach import service
from api.outreach.models import OutreachMessage, OutreachStatus
from api.outreach.scheduler import schedule_reminders
from api.outreach.worker import OutreachWorker, claim_due, decide_and_record
from tests.api.outreach.conftest import at_local, loan_due, make_web_borrower, worker_at
from tests.api.payments.builders import make_agreement, make_loan

NOW = at_local("Asia/Shanghai", 2026, 3, 10, 10)


async def outreach_rows(session, **where) -> list[OutreachMessage]:
    query = select(OutreachMessage).order_by(OutreachMessage.id).execution_options(populate_existing=True)
    for name, value in where.items():
        query = query.where(getattr(OutreachMessage, name) == value)
    return list(await session.scalars(query))


async def proactive_messages(session) -> list[Message]:
    rows = await session.scalars(
        select(Message).order_by(Message.id).execution_options(populate_existing=True)
    )
    return [m for m in rows if (m.payload or {}).get("proactive")]


async def warm(engine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def audit_actions(session) -> list[str]:
    return list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


async def test_a_due_reminder_goes_into_the_borrowers_web_conversation_and_its_live_stream(app, session):
    borrower, conversation_id = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 10))

    async with app.state.events.subscribe(conversation_topic(conversation_id)) as stream:
        report = await worker_at(app, NOW).run_once()
        hint = await stream.next(timeout=1)

    assert report.as_dict() == {"scheduled": 1, "claimed": 1, "promise_tasks": 0, "sent": 1}
    (row,) = await outreach_rows(session)
    assert (row.status, row.channel, row.delivery, row.sent_at) == ("sent", "web", "web", NOW)
    assert row.conversation_id == conversation_id and row.rule_id is None
    assert {"T1", "T2", "T3", "T4", "T5", "P3", "O5"} <= set(row.checked_rules)
    message = await session.get(Message, row.message_id)
    assert (message.conversation_id, message.sender, message.template) == (
        conversation_id, Sender.BOT, "outreach.due_today")
    assert message.created_at == NOW
    assert message.payload["proactive"] is True and message.payload["outreach_id"] == row.id
    assert message.payload["kind"] == "due_today" and "schedule_item_id" in message.payload
    assert "测试普惠小额贷款有限公司" in message.text and "别再发了" in message.text
    assert hint == {"topic": conversation_topic(conversation_id), "conversation_id": conversation_id,
                    "message_id": message.id}
    assert (await audit_actions(session))[-1] == AuditAction.OUTREACH_SENT
    assert (await verify(session)).ok


async def test_a_reminder_due_at_2130_local_is_held_and_sent_at_0800_next_day(app, session):
    borrower, conversation_id = await make_web_borrower(session, zone="Asia/Dubai")
    await loan_due(session, borrower, date(2026, 3, 9), status=ScheduleItemStatus.MISSED)

    evening = at_local("Asia/Dubai", 2026, 3, 10, 21, 30)
    await worker_at(app, evening).run_once()
    (held,) = await outreach_rows(session)
    assert (held.status, held.rule_id) == ("held", "T1")
    assert held.not_before == at_local("Asia/Dubai", 2026, 3, 11, 8)
    assert held.message_id is None and await proactive_messages(session) == []
    assert (await audit_actions(session))[-1] == AuditAction.OUTREACH_HELD

    early = await worker_at(app, at_local("Asia/Dubai", 2026, 3, 11, 7, 59)).run_once()
    assert early.claimed == 0  # not before 08:00
    morning = at_local("Asia/Dubai", 2026, 3, 11, 8)
    assert (await worker_at(app, morning).run_once()).outcomes == {"sent": 1}
    (sent,) = await outreach_rows(session)
    (message,) = await proactive_messages(session)
    assert sent.status == "sent" and sent.sent_at == morning and message.created_at == morning
    assert message.conversation_id == conversation_id


async def test_an_opt_out_after_the_claim_and_before_the_send_wins(app, session):
    borrower, _ = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 10))
    worker = worker_at(app, NOW, worker_id="w1")
    async with app.state.sessionmaker.begin() as s:
        await schedule_reminders(s, now=NOW, settings=app.state.settings)
    async with app.state.sessionmaker.begin() as s:
        (claimed,) = await claim_due(s, worker_id="w1", now=NOW, limit=10, lease_seconds=300)
    async with app.state.sessionmaker.begin() as s:  # "别再发了", while the send is queued
        await update_preferences(s, borrower_id=borrower.id, actor="borrower-session:x",
                                 update=PreferenceUpdate(opt_out_channels=frozenset({ContactChannel.WEB})))

    assert await worker.process(claimed) == "blocked"

    (row,) = await outreach_rows(session)
    assert (row.status, row.rule_id, row.message_id) == ("blocked", "T4", None)
    assert await proactive_messages(session) == []
    assert (await audit_actions(session))[-1] == AuditAction.OUTREACH_BLOCKED


async def test_an_opt_out_committing_while_the_send_waits_for_the_lock_blocks_it(app, session, database_url):
    """The opt-out's transaction holds the borrower's lock when the send starts: the send
    waits for it, then sees the opt-out."""
    borrower, _ = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 10))
    async with app.state.sessionmaker.begin() as s:
        await schedule_reminders(s, now=NOW, settings=app.state.settings)
    async with app.state.sessionmaker.begin() as s:
        (claimed,) = await claim_due(s, worker_id="w1", now=NOW, limit=10, lease_seconds=300)
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as opt_out:
            await update_preferences(opt_out, borrower_id=borrower.id, actor="borrower-session:x",
                                     update=PreferenceUpdate(stop_all=True))  # flushed, not committed

            async def commit_soon():
                await asyncio.sleep(0.3)
                await opt_out.commit()

            committing = asyncio.create_task(commit_soon())
            decided = await decide_and_record(
                app.state.sessionmaker, outreach_id=claimed, worker_id="w1", now=NOW,
                settings=app.state.settings, templates=worker_at(app, NOW).templates,
            )
            await committing
    finally:
        await engine.dispose()
    assert (decided.status, decided.rule_id) == ("blocked", "T4")
    assert await proactive_messages(session) == []


async def test_two_workers_at_once_never_send_a_reminder_twice(app, session, database_url):
    borrowers = [await make_web_borrower(session) for _ in range(12)]
    for borrower, _ in borrowers:
        await loan_due(session, borrower, date(2026, 3, 10))
    async with app.state.sessionmaker.begin() as s:
        await schedule_reminders(s, now=NOW, settings=app.state.settings)
    settings = app.state.settings.model_copy(update={"outreach_batch_size": 2})
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        await asyncio.gather(*(warm(e) for e in engines))
        workers = [
            OutreachWorker(sessionmaker=make_sessionmaker(e), settings=settings, wechat=app.state.wechat.api,
                           events=app.state.events, worker_id=f"w{i}", clock=lambda: NOW, schedule=False)
            for i, e in enumerate(engines)
        ]
        reports = await asyncio.gather(*(w.run_once() for w in workers))
    finally:
        for engine in engines:
            await engine.dispose()

    rows = await outreach_rows(session)
    messages = await proactive_messages(session)
    assert len(rows) == 12 and {r.status for r in rows} == {"sent"}
    assert len(messages) == 12
    assert sorted(m.payload["outreach_id"] for m in messages) == sorted(r.id for r in rows)
    assert sum(r.outcomes["sent"] for r in reports) == 12
    assert (await verify(session)).ok


async def test_concurrent_claims_are_disjoint(app, session, database_url):
    for _ in range(30):
        borrower, _ = await make_web_borrower(session)
        await loan_due(session, borrower, date(2026, 3, 10))
    async with app.state.sessionmaker.begin() as s:
        await schedule_reminders(s, now=NOW, settings=app.state.settings)
    engines = [make_engine(database_url) for _ in range(3)]

    async def claim_all(index: int, engine) -> list[int]:
        got = []
        while True:
            async with make_sessionmaker(engine).begin() as s:
                batch = await claim_due(s, worker_id=f"c{index}", now=NOW, limit=4, lease_seconds=300)
            if not batch:
                return got
            assert len(batch) <= 4  # a claim never takes more than its limit
            got.extend(batch)
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(warm(e) for e in engines))  # connected, so they start together
        claims = await asyncio.gather(*(claim_all(i, e) for i, e in enumerate(engines)))
    finally:
        for engine in engines:
            await engine.dispose()
    everything = [row_id for claim in claims for row_id in claim]
    assert len(everything) == len(set(everything)) == 30
    rows = await outreach_rows(session)
    assert {r.status for r in rows} == {"claimed"}
    owner = {row_id: f"c{i}" for i, claim in enumerate(claims) for row_id in claim}
    assert all(r.claimed_by == owner[r.id] for r in rows)


async def test_a_worker_whose_lease_was_taken_over_sends_nothing(app, session):
    borrower, _ = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 10))
    slow = worker_at(app, NOW, worker_id="slow")
    async with app.state.sessionmaker.begin() as s:
        await schedule_reminders(s, now=NOW, settings=app.state.settings)
    async with app.state.sessionmaker.begin() as s:
        (claimed,) = await claim_due(s, worker_id="slow", now=NOW, limit=10, lease_seconds=300)
    before_expiry = worker_at(app, NOW + timedelta(seconds=299), worker_id="other")
    assert (await before_expiry.run_once()).claimed == 0

    after_expiry = worker_at(app, NOW + timedelta(seconds=300), worker_id="other")
    assert (await after_expiry.run_once()).outcomes == {"sent": 1}
    assert await slow.process(claimed) == "lost"

    assert len(await proactive_messages(session)) == 1


async def test_caps_count_proactive_messages_on_every_channel(app, session):
    borrower, _ = await make_web_borrower(session)
    other_loan = await make_loan(session, borrower=borrower)
    session.add(OutreachMessage(  # sent an hour ago through another channel
        borrower_id=borrower.id, loan_id=other_loan.id, kind="due_soon", source_key="test:sms",
        template_key="due_soon", status=OutreachStatus.SENT, due_at=NOW - timedelta(hours=1),
        not_before=NOW - timedelta(hours=1), channel="sms", sent_at=NOW - timedelta(hours=1),
    ))
    await session.commit()
    await loan_due(session, borrower, date(2026, 3, 8), status=ScheduleItemStatus.MISSED)

    await worker_at(app, NOW).run_once()

    (row,) = await outreach_rows(session, kind="missed_payment")
    assert (row.status, row.rule_id) == ("held", "T3")
    assert row.not_before == at_local("Asia/Shanghai", 2026, 3, 11, 8)


async def test_the_second_reminder_of_a_day_is_held(app, session):
    borrower, _ = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 8), status=ScheduleItemStatus.MISSED)
    await loan_due(session, borrower, date(2026, 3, 7), status=ScheduleItemStatus.MISSED)

    report = await worker_at(app, NOW).run_once()

    assert report.outcomes == {"sent": 1, "held": 1}
    held = (await outreach_rows(session, status="held"))[0]
    assert held.rule_id == "T3" and held.not_before == at_local("Asia/Shanghai", 2026, 3, 11, 8)
    nxt = await worker_at(app, at_local("Asia/Shanghai", 2026, 3, 11, 8)).run_once()
    assert nxt.outcomes == {"sent": 1} and len(await proactive_messages(session)) == 2


async def test_a_lender_pause_blocks_queued_reminders_with_o5(app, session):
    borrower, _ = await make_web_borrower(session)
    loan = await loan_due(session, borrower, date(2026, 3, 10))
    async with app.state.sessionmaker.begin() as s:
        await schedule_reminders(s, now=NOW, settings=app.state.settings)
        await service.set_collection_pause(s, loan_id=loan.id, paused=True, reason="困难缓冲期",
                                           actor="user:1", now=NOW)

    assert (await worker_at(app, NOW).run_once()).outcomes == {"blocked": 1}
    (row,) = await outreach_rows(session)
    assert (row.status, row.rule_id) == ("blocked", "O5")
    assert await proactive_messages(session) == []
    actions = await audit_actions(session)
    assert AuditAction.LOAN_COLLECTION_PAUSE_CHANGED in actions and actions[-1] == AuditAction.OUTREACH_BLOCKED


async def test_a_dispute_with_a_person_stops_automated_reminders(app, session):
    borrower, conversation_id = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 10))
    session.add(Escalation(conversation_id=conversation_id, reason_code=ReasonCode.DISPUTE, urgency=2,
                           created_at=NOW - timedelta(hours=2)))
    await session.commit()

    await worker_at(app, NOW).run_once()

    (row,) = await outreach_rows(session)
    assert (row.status, row.rule_id) == ("blocked", "E1")


async def test_a_reminder_for_an_instalment_paid_meanwhile_is_cancelled(app, session):
    borrower, _ = await make_web_borrower(session)
    loan = await loan_due(session, borrower, date(2026, 3, 10))
    async with app.state.sessionmaker.begin() as s:
        await schedule_reminders(s, now=NOW, settings=app.state.settings)
    item = await session.scalar(select(ScheduleItem).where(ScheduleItem.loan_id == loan.id))
    item.status = ScheduleItemStatus.PAID
    await session.commit()

    assert (await worker_at(app, NOW).run_once()).outcomes == {"cancelled": 1}
    (row,) = await outreach_rows(session)
    assert row.status == "cancelled" and await proactive_messages(session) == []
    assert (await audit_actions(session))[-1] == AuditAction.OUTREACH_CANCELLED


async def test_a_plans_own_instalment_is_reminded_while_the_plan_is_kept(app, session):
    borrower, _ = await make_web_borrower(session)
    loan = await loan_due(session, borrower, date(2026, 3, 1), status=ScheduleItemStatus.SUPERSEDED)
    agreement = await make_agreement(session, loan=loan, items=[(date(2026, 3, 10), 20_000)])

    assert (await worker_at(app, NOW).run_once()).outcomes == {"sent": 1}
    (row,) = await outreach_rows(session)
    assert row.agreement_id == agreement.id and row.kind == "due_today"


async def test_a_web_borrower_without_an_open_conversation_gets_it_in_a_new_inbox(app, session):
    borrower, _ = await make_web_borrower(session, conversation=False)
    await loan_due(session, borrower, date(2026, 3, 10))

    await worker_at(app, NOW).run_once()

    (row,) = await outreach_rows(session)
    conversation = await session.get(Conversation, row.conversation_id)
    assert row.status == "sent" and row.delivery == "inbox"
    assert conversation.borrower_id == borrower.id and conversation.verified_at is None
    first = (await session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id))).first()
    # The reminder opens the conversation, so it carries the D1 disclosure itself.
    assert first.id == row.message_id
    assert all(marker in first.text for marker in ("AI助手", "人工智能", "记录", "人工"))


async def test_every_outcome_is_in_the_audit_chain_with_its_rule(app, session):
    borrower, _ = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 10), paused=True)
    await worker_at(app, NOW).run_once()
    event = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == AuditAction.OUTREACH_BLOCKED))
    assert event.subject == f"borrower:{borrower.id}"
    assert event.payload["rule_id"] == "O5" and event.payload["status"] == "blocked"
    assert event.payload["detail"]
    total = await session.scalar(select(func.count()).select_from(OutreachMessage))
    assert total == 1


async def test_times_stay_utc_aware(app, session):
    borrower, _ = await make_web_borrower(session, zone="America/New_York")
    await loan_due(session, borrower, date(2026, 3, 8), status=ScheduleItemStatus.MISSED)
    # 10:00 Shanghai is 22:00 New York on the 9th: held until 08:00 EDT on the 10th.
    await worker_at(app, NOW).run_once()
    (row,) = await outreach_rows(session)
    assert row.rule_id == "T1" and row.not_before == datetime.fromisoformat("2026-03-10T12:00:00+00:00")


async def test_what_the_worker_sends_raises_no_compliance_flag(app, session):
    """The compliance workspace's automatic flags (api/compliance/flags.py) judge every
    proactive message; the worker's own sends — a night hold, the daily cap, an inbox
    conversation opened by a reminder — must all pass them."""
    from api.compliance import flag_cache

    borrower, conversation_id = await make_web_borrower(session, zone="America/New_York")
    await loan_due(session, borrower, date(2026, 3, 8), status=ScheduleItemStatus.MISSED)
    await loan_due(session, borrower, date(2026, 3, 7), status=ScheduleItemStatus.MISSED)
    inbox_borrower, _ = await make_web_borrower(session, conversation=False)
    await loan_due(session, inbox_borrower, date(2026, 3, 10))
    for moment in (NOW, at_local("America/New_York", 2026, 3, 10, 8),
                   at_local("America/New_York", 2026, 3, 11, 8)):
        await worker_at(app, moment).run_once()
    rows = await outreach_rows(session)
    assert [r.status for r in rows] == ["sent"] * 3

    for conversation_id in {r.conversation_id for r in rows}:
        conversation = await session.get(Conversation, conversation_id)
        assert await flag_cache.refresh(session, conversation) == [], conversation_id


async def test_one_reminder_that_cannot_be_processed_is_recorded_and_the_rest_go_on(app, session):
    broken, _ = await make_web_borrower(session)
    await loan_due(session, broken, date(2026, 3, 10))
    fine, _ = await make_web_borrower(session)
    await loan_due(session, fine, date(2026, 3, 10))
    async with app.state.sessionmaker.begin() as s:
        await schedule_reminders(s, now=NOW, settings=app.state.settings)
    broken.timezone = "Mars/Olympus_Mons"  # e.g. a bad import: the gate cannot place T1
    session.add(broken)
    await session.commit()

    report = await worker_at(app, NOW).run_once()

    assert report.outcomes == {"error": 1, "sent": 1}
    row = (await outreach_rows(session, borrower_id=broken.id))[0]
    assert (row.status, row.attempts, row.claimed_by) == ("held", 1, None)
    assert "ZoneInfoNotFoundError" in row.last_error
    failed = await session.scalar(select(AuditEvent).where(
        AuditEvent.action == AuditAction.OUTREACH_DELIVERY_FAILED))
    assert failed.payload["outreach_id"] == row.id and failed.payload["retry"] is True
    assert (await outreach_rows(session, borrower_id=fine.id))[0].status == "sent"


async def test_a_stopping_worker_gives_its_unprocessed_claims_back(app, session):
    for _ in range(3):
        borrower, _ = await make_web_borrower(session)
        await loan_due(session, borrower, date(2026, 3, 10))
    stop = asyncio.Event()
    stop.set()

    report = await worker_at(app, NOW).run_once(stop)

    assert report.claimed == 3 and sum(report.outcomes.values()) == 0
    rows = await outreach_rows(session)
    assert {(r.status, r.claimed_by) for r in rows} == {("pending", None)}
    assert (await worker_at(app, NOW, worker_id="next").run_once()).outcomes == {"sent": 3}


class RecordingRasa:
    """Stands in for the RasaClient: records the tracker events a pass appends."""

    def __init__(self) -> None:
        self.appended: list[tuple[str, list[dict]]] = []

    async def append_events(self, *, sender_id, events, token, timeout):
        self.appended.append((sender_id, list(events)))


async def test_a_sent_reminder_is_told_to_the_bot_and_a_held_one_is_not(app, session):
    borrower, conversation_id = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 13))  # due_soon: 3-10 10:00 local
    rasa = RecordingRasa()

    night = at_local("Asia/Shanghai", 2026, 3, 10, 22)  # T1 holds it: nothing to tell
    assert (await worker_at(app, night, rasa=rasa).run_once()).outcomes["held"] == 1
    assert rasa.appended == []

    next_morning = at_local("Asia/Shanghai", 2026, 3, 11, 8)
    assert (await worker_at(app, next_morning, rasa=rasa).run_once()).outcomes["sent"] == 1
    ((sender_id, events),) = rasa.appended
    assert sender_id == conversation_id
    assert [event["event"] for event in events] == ["bot", "slot"]
    assert events[1]["name"] == "pending_request"
