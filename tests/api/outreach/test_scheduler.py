"""The scheduler: which reminders a schedule calls for, when they are due (borrower-local),
and that no pass — repeated or concurrent — creates one twice."""

import asyncio
from datetime import date

from sqlalchemy import func, select, update

from api.agreements.models import Agreement
from api.audit.models import AuditAction, AuditEvent
from api.core.db import make_engine, make_sessionmaker
from api.loans.models import ScheduleItem, ScheduleItemStatus
from api.outreach.models import OutreachKind, OutreachMessage, OutreachStatus
from api.outreach.scheduler import ReminderSpec, enqueue, schedule_reminders, source_key
from tests.api.outreach.conftest import at_local, loan_due, make_web_borrower
from tests.api.payments.builders import make_agreement

NOW = at_local("Asia/Shanghai", 2026, 3, 10, 10)  # 02:00 UTC


async def _schedule(app, now=NOW):
    async with app.state.sessionmaker.begin() as session:
        return await schedule_reminders(session, now=now, settings=app.state.settings)


async def _rows(session) -> list[OutreachMessage]:
    return list(await session.scalars(
        select(OutreachMessage).order_by(OutreachMessage.id).execution_options(populate_existing=True)
    ))


async def _item_id(session, loan) -> int:
    return await session.scalar(select(ScheduleItem.id).where(ScheduleItem.loan_id == loan.id))


async def test_reminders_are_created_before_on_and_after_a_due_date(app, session):
    borrower, _ = await make_web_borrower(session)
    soon = await loan_due(session, borrower, date(2026, 3, 12))
    today = await loan_due(session, borrower, date(2026, 3, 10))
    missed = await loan_due(session, borrower, date(2026, 3, 8), status=ScheduleItemStatus.MISSED)
    await loan_due(session, borrower, date(2026, 3, 20))  # too far ahead
    await loan_due(session, borrower, date(2026, 2, 1), status=ScheduleItemStatus.MISSED)  # stale
    await loan_due(session, borrower, date(2026, 3, 11), status=ScheduleItemStatus.PAID)

    report = await _schedule(app)

    rows = await _rows(session)
    assert {(r.loan_id, r.kind) for r in rows} == {
        (soon.id, OutreachKind.DUE_SOON), (today.id, OutreachKind.DUE_TODAY),
        (missed.id, OutreachKind.MISSED_PAYMENT),
    }
    assert report.created == 3 and report.by_kind == {"due_soon": 1, "due_today": 1, "missed_payment": 1}
    by_kind = {r.kind: r for r in rows}
    # Due at the configured local time (10:00) on its day, in the borrower's zone.
    assert by_kind["due_soon"].due_at == at_local("Asia/Shanghai", 2026, 3, 9, 10)
    assert by_kind["due_today"].due_at == at_local("Asia/Shanghai", 2026, 3, 10, 10)
    assert by_kind["missed_payment"].due_at == at_local("Asia/Shanghai", 2026, 3, 9, 10)
    assert by_kind["due_today"].expires_at == at_local("Asia/Shanghai", 2026, 3, 11, 0)
    assert all(r.status == OutreachStatus.PENDING and r.not_before == r.due_at for r in rows)
    item = await _item_id(session, today)
    assert by_kind["due_today"].source_key == f"schedule:{item}:due_today"
    assert by_kind["due_today"].payload == {
        "kind": "due_today", "schedule_item_id": item, "loan_id": today.id,
        "agreement_id": None, "due_date": "2026-03-10",
    }


async def test_the_borrowers_own_day_decides_which_reminder_is_due(app, session):
    # 02:00 UTC on the 10th is still the 9th in New York: the item due on the 10th is
    # "due soon" there, and "due today" in Shanghai.
    shanghai, _ = await make_web_borrower(session, zone="Asia/Shanghai")
    new_york, _ = await make_web_borrower(session, zone="America/New_York")
    await loan_due(session, shanghai, date(2026, 3, 10))
    await loan_due(session, new_york, date(2026, 3, 10))

    await _schedule(app)

    kinds = {(r.borrower_id, r.kind) for r in await _rows(session)}
    assert kinds == {(shanghai.id, "due_today"), (new_york.id, "due_soon")}
    new_york_row = next(r for r in await _rows(session) if r.borrower_id == new_york.id)
    assert new_york_row.due_at == at_local("America/New_York", 2026, 3, 7, 10)


async def test_promises_to_pay_get_their_own_reminder_and_one_follow_up(app, session):
    borrower, _ = await make_web_borrower(session)
    loan = await loan_due(session, borrower, date(2026, 3, 1), status=ScheduleItemStatus.SUPERSEDED)
    kept = await make_agreement(session, loan=loan, items=[(date(2026, 3, 10), 20_000)])
    other = await loan_due(session, borrower, date(2026, 3, 1), status=ScheduleItemStatus.SUPERSEDED)
    broken = await make_agreement(session, loan=other, items=[(date(2026, 3, 8), 20_000)])
    await session.execute(update(Agreement).values(kind="partial_payment"))
    await session.execute(
        update(ScheduleItem).where(ScheduleItem.agreement_id == broken.id)
        .values(status=ScheduleItemStatus.MISSED)
    )
    await session.commit()

    await _schedule(app)

    rows = await _rows(session)
    assert {(r.agreement_id, r.kind) for r in rows} == {
        (kept.id, OutreachKind.PROMISE_DUE), (broken.id, OutreachKind.PROMISE_FOLLOWUP),
    }


async def test_a_second_pass_creates_nothing(app, session):
    borrower, _ = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 10))
    first, second = await _schedule(app), await _schedule(app)
    later_that_day = await _schedule(app, now=at_local("Asia/Shanghai", 2026, 3, 10, 20))
    assert (first.created, second.created, later_that_day.created) == (1, 0, 0)
    assert second.candidates == 1  # it did see the reminder, and left it alone
    assert len(await _rows(session)) == 1
    scheduled = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == AuditAction.OUTREACH_SCHEDULED)
    )
    assert scheduled == 1  # audited when something was created, not on every pass


async def test_concurrent_schedulers_create_each_reminder_once(app, session, database_url):
    borrower, _ = await make_web_borrower(session)
    for day in (9, 10, 11, 12):
        await loan_due(session, borrower, date(2026, 3, day), status=ScheduleItemStatus.PENDING)
    engines = [make_engine(database_url) for _ in range(3)]
    try:
        async def one_pass(engine):
            async with make_sessionmaker(engine).begin() as s:
                return await schedule_reminders(s, now=NOW, settings=app.state.settings)

        reports = await asyncio.gather(*(one_pass(e) for e in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    rows = await _rows(session)
    assert len(rows) == 3  # due_today (10th), due_soon (11th, 12th); the 9th is past
    assert sum(r.created for r in reports) == 3
    assert len({r.source_key for r in rows}) == 3


async def test_enqueue_is_the_idempotent_way_in_for_other_code(app, session):
    borrower, _ = await make_web_borrower(session)
    loan = await loan_due(session, borrower, date(2026, 3, 8), status=ScheduleItemStatus.MISSED)
    item = await _item_id(session, loan)
    spec = ReminderSpec(
        borrower_id=borrower.id, loan_id=loan.id, kind=OutreachKind.PROMISE_FOLLOWUP,
        source_key=source_key(schedule_item_id=item, kind="promise_followup"), due_at=NOW,
        schedule_item_id=item,
    )
    async with app.state.sessionmaker.begin() as s:
        first = await enqueue(s, [spec], now=NOW)
    async with app.state.sessionmaker.begin() as s:
        again = await enqueue(s, [spec, spec], now=NOW)
    assert len(first) == 1 and again == []
    assert [r.source_key for r in await _rows(session)] == [f"schedule:{item}:promise_followup"]


async def test_a_borrower_with_an_unusable_time_zone_does_not_stop_the_others(app, session):
    broken, _ = await make_web_borrower(session, zone="Mars/Olympus_Mons")
    fine, _ = await make_web_borrower(session)
    await loan_due(session, broken, date(2026, 3, 10))
    await loan_due(session, fine, date(2026, 3, 10))

    report = await _schedule(app)

    assert report.created == 1
    assert [r.borrower_id for r in await _rows(session)] == [fine.id]
