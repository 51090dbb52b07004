"""Promise-to-pay follow-up: one follow-up per broken promise, then one collector task if
it is still broken; kept or mended promises get nothing more."""

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from api.agreements.models import Agreement
from api.audit.models import AuditAction, AuditEvent
from api.console.queue import list_queue
from api.console.texts import reason_label
from api.contact_preferences.models import ContactPreference
from api.gateway.models import Conversation, Escalation, Message, MessageStatus, ReasonCode, Sender
from api.loans.models import Loan, ScheduleItem, ScheduleItemStatus
from api.outreach.models import OutreachKind, OutreachMessage, OutreachStatus
from api.outreach.promises import followup_key, reconcile_promises
from api.outreach.scheduler import schedule_reminders
from api.payments.reconcile import reconcile_schedules
from api.payments.service import record_payment
from tests.api.compliance.outreach_rows import make_borrower_conversation, make_outreach
from tests.api.payments.builders import make_agreement, make_borrower, make_loan

PROMISED = date(2026, 3, 2)  # the pay-by date, a Monday
BROKE = date(2026, 3, 3)  # reconciliation on the borrower's next day marks it missed
NOW = datetime(2026, 3, 3, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai on 3 March
SEND_AT = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)  # 10:00 local: OUTREACH_SEND_LOCAL_TIME


async def _promise(session, *, kind: str = "partial_payment", items=((PROMISED, 50_000),), started=NOW):
    """A borrower with a web conversation and an agreement made in it; returns both."""
    borrower = await make_borrower(session)
    loan = await make_loan(session, borrower=borrower)
    agreement = await make_agreement(session, loan=loan, items=list(items))
    conversation = await make_borrower_conversation(session, borrower=borrower,
                                                    started=started - timedelta(days=10))
    agreement.kind, agreement.conversation_id = kind, conversation.id
    await session.commit()
    return agreement, conversation


async def _break(session, today: date = BROKE) -> None:
    report = await reconcile_schedules(session, today=today)
    await session.commit()
    assert report.agreements_broken >= 1


async def _pass(session, settings, now: datetime):
    report = await reconcile_promises(session, now=now, settings=settings)
    await session.commit()
    return report


async def _followups(session, agreement_id: int) -> list[OutreachMessage]:
    return list((await session.scalars(
        select(OutreachMessage)
        .where(OutreachMessage.agreement_id == agreement_id, OutreachMessage.kind == OutreachKind.PROMISE_FOLLOWUP)
        .execution_options(populate_existing=True)
    )).all())


async def _mark_sent(session, row: OutreachMessage, conversation: Conversation, at: datetime) -> None:
    """What the worker records when it sends the follow-up."""
    message = Message(conversation_id=conversation.id, sender=Sender.BOT, text="跟进提醒",
                      template="outreach.promise_followup", status=MessageStatus.SENT, created_at=at,
                      payload={"proactive": True, "outreach_id": row.id, "kind": "promise_followup"})
    session.add(message)
    await session.flush()
    await session.execute(update(OutreachMessage).where(OutreachMessage.id == row.id).values(
        status=OutreachStatus.SENT, sent_at=at, updated_at=at, conversation_id=conversation.id,
        message_id=message.id, channel="web"))
    await session.commit()


async def _escalations(session, conversation_id: str) -> list[Escalation]:
    return list((await session.scalars(
        select(Escalation).where(Escalation.conversation_id == conversation_id)
        .execution_options(populate_existing=True))).all())


async def _task_events(session) -> list[AuditEvent]:
    return list((await session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.PROMISE_COLLECTOR_TASK_OPENED))).all())


async def _sent_followup(session, settings):
    agreement, conversation = await _promise(session)
    await _break(session)
    await _pass(session, settings, NOW)
    [row] = await _followups(session, agreement.id)
    await _mark_sent(session, row, conversation, SEND_AT)
    return agreement, conversation, row


# ---- the one follow-up ------------------------------------------------------------------


async def test_a_broken_promise_gets_exactly_one_followup(session, settings):
    agreement, _ = await _promise(session)
    await _break(session)

    first = await _pass(session, settings, NOW)
    second = await _pass(session, settings, NOW + timedelta(hours=1))

    assert (first.followups_created, second.followups_created) == (1, 0)
    [row] = await _followups(session, agreement.id)
    assert row.source_key == followup_key(agreement.id) == f"agreement:{agreement.id}:promise_followup"
    assert row.status == OutreachStatus.PENDING and row.template_key == "promise_followup"
    # The day after the promised date, at the configured local send time (10:00 Shanghai).
    assert row.due_at == SEND_AT and row.not_before == SEND_AT
    item_id = await session.scalar(select(ScheduleItem.id).where(ScheduleItem.agreement_id == agreement.id))
    assert row.schedule_item_id == item_id and row.payload["agreement_id"] == agreement.id


async def test_an_instalment_plan_with_two_missed_items_still_gets_one_followup(session, settings):
    agreement, _ = await _promise(session, kind="instalments",
                                  items=((PROMISED - timedelta(days=1), 20_000), (PROMISED, 20_000)))
    await _break(session)

    report = await _pass(session, settings, NOW)

    assert report.followups_created == 1
    assert len(await _followups(session, agreement.id)) == 1


async def test_the_schedulers_followup_for_a_promise_counts_as_the_one(session, settings):
    agreement, _ = await _promise(session)
    await _break(session)
    await schedule_reminders(session, now=NOW, settings=settings)
    await session.commit()

    report = await _pass(session, settings, NOW)

    assert report.followups_created == 0
    [row] = await _followups(session, agreement.id)
    assert row.source_key.startswith("schedule:")


async def test_an_active_or_kept_promise_gets_no_followup(session, settings):
    await _promise(session)  # not due yet: active
    report = await _pass(session, settings, NOW)
    assert (report.followups_created, report.tasks_opened) == (0, 0)
    assert (await session.scalars(select(OutreachMessage))).all() == []


# ---- kept or mended: cancel what still waits -----------------------------------------------


async def test_a_kept_promise_cancels_its_waiting_reminders_and_records_nothing_more(session, settings):
    agreement, conversation = await _promise(session)
    loan = await session.get(Loan, agreement.loan_id)
    due = await make_outreach(session, loan=loan, kind="promise_due", status=OutreachStatus.PENDING,
                              at=SEND_AT, agreement_id=agreement.id)
    claimed = await make_outreach(session, loan=loan, kind="due_soon", status=OutreachStatus.CLAIMED,
                                  at=SEND_AT, agreement_id=agreement.id)
    await record_payment(session, loan_id=loan.id, external_ref="pay-1", amount_fen=50_000,
                         paid_at=NOW - timedelta(days=2), channel="bank", actor="test")
    await session.commit()
    assert (await session.get(Agreement, agreement.id, populate_existing=True)).status == "kept"

    report = await _pass(session, settings, NOW)

    assert (report.followups_created, report.reminders_cancelled, report.tasks_opened) == (0, 1, 0)
    rows = {r.id: r for r in (await session.scalars(
        select(OutreachMessage).execution_options(populate_existing=True))).all()}
    assert rows[due.id].status == OutreachStatus.CANCELLED
    assert rows[claimed.id].status == OutreachStatus.CLAIMED  # its worker re-checks at send time
    [event] = (await session.scalars(select(AuditEvent.payload).where(
        AuditEvent.action == AuditAction.OUTREACH_CANCELLED))).all()
    assert event["outreach_id"] == due.id and event["agreement_status"] == "kept"
    assert await _escalations(session, conversation.id) == []


async def test_paying_the_missed_amount_cancels_the_pending_followup_and_no_task_opens(session, settings):
    agreement, conversation = await _promise(session)
    await _break(session)
    await _pass(session, settings, NOW)
    await record_payment(session, loan_id=agreement.loan_id, external_ref="pay-2", amount_fen=50_000,
                         paid_at=NOW, channel="bank", actor="test")
    await session.commit()

    report = await _pass(session, settings, NOW + timedelta(days=5))

    assert report.reminders_cancelled == 1
    [row] = await _followups(session, agreement.id)
    assert row.status == OutreachStatus.CANCELLED
    assert await _escalations(session, conversation.id) == [] and await _task_events(session) == []


# ---- the one collector task ------------------------------------------------------------


async def test_still_broken_days_after_the_followup_opens_one_collector_task(session, settings):
    agreement, conversation, row = await _sent_followup(session, settings)

    early = await _pass(session, settings, SEND_AT + timedelta(days=2) - timedelta(minutes=1))
    assert early.tasks_opened == 0 and await _escalations(session, conversation.id) == []

    due = await _pass(session, settings, SEND_AT + timedelta(days=2))
    again = await _pass(session, settings, SEND_AT + timedelta(days=9))

    assert (due.tasks_opened, again.tasks_opened) == (1, 0)
    assert due.task_conversation_ids == (conversation.id,)
    [escalation] = await _escalations(session, conversation.id)
    assert escalation.reason_code == ReasonCode.BROKEN_PROMISE and escalation.urgency == 4
    assert f"agreement {agreement.id}" in escalation.note
    state = await session.scalar(select(Conversation.state).where(Conversation.id == conversation.id)
                                 .execution_options(populate_existing=True))
    assert state == "waiting_for_agent"
    [event] = await _task_events(session)
    assert event.subject == f"agreement:{agreement.id}"
    assert event.payload["escalation_id"] == escalation.id and event.payload["followup_id"] == row.id
    # The collector sees it in the queue, labelled in Chinese.
    [entry] = await list_queue(session)
    assert entry.escalation.id == escalation.id
    assert reason_label(entry.escalation.reason_code) == "还款承诺未履行（已发送跟进提醒）"


async def test_the_delay_is_a_setting(session, settings):
    settings = settings.model_copy(update={"promise_task_after_days": 0})
    _, conversation, _ = await _sent_followup(session, settings)

    report = await _pass(session, settings, SEND_AT + timedelta(minutes=1))

    assert report.tasks_opened == 1 and len(await _escalations(session, conversation.id)) == 1


async def test_a_borrower_chatting_with_the_bot_is_not_cut_off(session, settings):
    _, conversation, _ = await _sent_followup(session, settings)
    later = SEND_AT + timedelta(days=3)
    session.add(Message(conversation_id=conversation.id, sender=Sender.BORROWER, text="我想重新安排一下",
                        status=MessageStatus.ROUTED, created_at=later - timedelta(minutes=5)))
    await session.commit()

    live = await _pass(session, settings, later)
    idle = await _pass(session, settings, later + timedelta(minutes=26))

    assert (live.tasks_opened, live.tasks_waiting) == (0, 1)
    assert idle.tasks_opened == 1


async def test_a_promise_paid_after_the_followup_gets_no_task(session, settings):
    agreement, conversation, _ = await _sent_followup(session, settings)
    await record_payment(session, loan_id=agreement.loan_id, external_ref="pay-3", amount_fen=50_000,
                         paid_at=SEND_AT + timedelta(hours=3), channel="bank", actor="test")
    await session.commit()

    report = await _pass(session, settings, SEND_AT + timedelta(days=3))

    assert (report.tasks_opened, report.tasks_waiting) == (0, 0)
    assert await _escalations(session, conversation.id) == []


@pytest.mark.parametrize("why", ["paused", "stop_all", "channel_off", "with_a_person"])
async def test_no_task_while_collection_is_off_or_a_person_has_the_chat(session, settings, why):
    agreement, conversation, _ = await _sent_followup(session, settings)
    if why == "paused":  # O5
        await session.execute(update(Loan).where(Loan.id == agreement.loan_id).values(collection_paused=True))
    elif why in ("stop_all", "channel_off"):  # T4
        session.add(ContactPreference(borrower_id=agreement.borrower_id, stop_all=why == "stop_all",
                                      opted_out_channels=["web"] if why == "channel_off" else []))
    else:
        session.add(Escalation(conversation_id=conversation.id, reason_code=ReasonCode.HUMAN_REQUESTED,
                               urgency=3, created_at=SEND_AT))
        await session.execute(update(Conversation).where(Conversation.id == conversation.id)
                              .values(state="waiting_for_agent"))
    await session.commit()

    report = await _pass(session, settings, SEND_AT + timedelta(days=3))

    assert (report.tasks_opened, report.tasks_waiting) == (0, 1)
    assert await _task_events(session) == []
    reasons = [e.reason_code for e in await _escalations(session, conversation.id)]
    assert ReasonCode.BROKEN_PROMISE not in reasons


@pytest.mark.parametrize("status", [OutreachStatus.BLOCKED, OutreachStatus.FAILED])
async def test_a_followup_that_could_not_be_sent_still_leads_to_the_task(session, settings, status):
    agreement, conversation = await _promise(session)
    await _break(session)
    await _pass(session, settings, NOW)
    [row] = await _followups(session, agreement.id)
    await session.execute(update(OutreachMessage).where(OutreachMessage.id == row.id).values(
        status=status, rule_id="P3" if status == OutreachStatus.BLOCKED else None, updated_at=SEND_AT))
    await session.commit()

    waiting = await _pass(session, settings, SEND_AT + timedelta(days=1))
    due = await _pass(session, settings, SEND_AT + timedelta(days=2))

    assert (waiting.tasks_opened, due.tasks_opened) == (0, 1)
    # The follow-up never reached a conversation: the task goes where the promise was made.
    assert [e.reason_code for e in await _escalations(session, conversation.id)] == [ReasonCode.BROKEN_PROMISE]


async def test_a_pending_followup_holds_the_task_back(session, settings):
    agreement, conversation = await _promise(session)
    await _break(session)
    await _pass(session, settings, NOW)

    report = await _pass(session, settings, NOW + timedelta(days=30))

    assert (report.tasks_opened, report.tasks_waiting) == (0, 1)


async def test_two_concurrent_passes_open_one_task(app, session, settings):
    _, conversation, _ = await _sent_followup(session, settings)
    at = SEND_AT + timedelta(days=3)

    async def one_pass():
        async with app.state.sessionmaker.begin() as own:
            return await reconcile_promises(own, now=at, settings=settings)

    reports = await asyncio.gather(one_pass(), one_pass())

    assert sorted(r.tasks_opened for r in reports) == [0, 1]
    assert len(await _escalations(session, conversation.id)) == 1
    assert len(await _task_events(session)) == 1
