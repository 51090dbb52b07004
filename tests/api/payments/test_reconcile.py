"""Daily reconciliation: overdue items missed, agreements kept or broken, all audited."""

import asyncio
import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import select

from api.agreements.models import Agreement, AgreementStatus
from api.audit.models import AuditAction, AuditEvent
from api.loans.models import ScheduleItem, ScheduleItemStatus
from api.payments.reconcile import reconcile_schedules
from tests.api.payments.builders import make_agreement, make_borrower, make_loan

ROOT = Path(__file__).resolve().parents[3]
JAN_31, FEB_1, FEB_2 = date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2)


async def item_statuses(session, loan_id: int) -> list[str]:
    items = await session.scalars(
        select(ScheduleItem)
        .where(ScheduleItem.loan_id == loan_id)
        .order_by(ScheduleItem.seq)
        .execution_options(populate_existing=True)
    )
    return [i.status for i in items]


async def audited(session, action: AuditAction) -> list[dict]:
    return list(
        (await session.scalars(select(AuditEvent.payload).where(AuditEvent.action == action))).all()
    )


async def test_pending_item_past_its_due_date_becomes_missed(session):
    loan = await make_loan(session, schedule=[(JAN_31, 5_000), (FEB_1, 5_000), (FEB_2, 5_000)])

    report = await reconcile_schedules(session, today=FEB_1)
    await session.commit()

    assert report.items_missed == 1
    # Due today is not missed yet: the borrower has until the end of the day.
    assert await item_statuses(session, loan.id) == ["missed", "pending", "pending"]
    [event] = await audited(session, AuditAction.SCHEDULE_ITEM_MISSED)
    assert event["due_date"] == "2026-01-31" and event["amount_fen"] == 5_000


async def test_partly_paid_item_is_missed_and_fully_paid_one_is_not(session):
    loan = await make_loan(session, schedule=[(JAN_31, 5_000), (JAN_31, 3_000)])
    first, second = (
        await session.scalars(select(ScheduleItem).where(ScheduleItem.loan_id == loan.id).order_by(ScheduleItem.seq))
    ).all()
    first.paid_fen = 4_999
    second.paid_fen, second.status = 3_000, ScheduleItemStatus.PAID
    await session.commit()

    await reconcile_schedules(session, today=FEB_2)
    await session.commit()

    assert await item_statuses(session, loan.id) == ["missed", "paid"]


async def test_paused_loan_is_left_alone(session):
    loan = await make_loan(session, collection_paused=True, schedule=[(JAN_31, 5_000)])

    report = await reconcile_schedules(session, today=FEB_2)

    assert report.items_missed == 0
    assert await item_statuses(session, loan.id) == ["pending"]


async def test_running_twice_changes_nothing_the_second_time(session):
    await make_loan(session, schedule=[(JAN_31, 5_000)])
    await reconcile_schedules(session, today=FEB_2)
    await session.commit()

    report = await reconcile_schedules(session, today=FEB_2)

    assert report.items_missed == 0
    assert len(await audited(session, AuditAction.SCHEDULE_ITEM_MISSED)) == 1


async def test_each_borrower_is_judged_on_their_own_date(session):
    shanghai = await make_loan(
        session, borrower=await make_borrower(session, timezone="Asia/Shanghai"),
        schedule=[(JAN_31, 5_000)],
    )
    dubai = await make_loan(
        session, borrower=await make_borrower(session, timezone="Asia/Dubai"),
        schedule=[(JAN_31, 5_000)],
    )
    # 17:30 UTC on Jan 31: already Feb 1 in Shanghai (01:30), still Jan 31 in Dubai (21:30).
    now = datetime(2026, 1, 31, 17, 30, tzinfo=timezone.utc)

    report = await reconcile_schedules(session, now=now)
    await session.commit()

    assert report.items_missed == 1
    assert await item_statuses(session, shanghai.id) == ["missed"]
    assert await item_statuses(session, dubai.id) == ["pending"]


async def test_agreement_with_a_missed_item_is_broken(session):
    loan = await make_loan(session)
    agreement = await make_agreement(session, loan=loan, items=[(JAN_31, 4_000), (FEB_2, 4_000)])

    report = await reconcile_schedules(session, today=FEB_1)
    await session.commit()

    assert (report.items_missed, report.agreements_broken, report.agreements_kept) == (1, 1, 0)
    stored = await session.get(Agreement, agreement.id, populate_existing=True)
    assert stored.status == AgreementStatus.BROKEN
    assert await audited(session, AuditAction.AGREEMENT_STATUS_CHANGED) == [
        {"loan_id": loan.id, "from": "active", "to": "broken"}
    ]


async def test_agreement_whose_items_are_all_paid_is_kept(session):
    loan = await make_loan(session)
    agreement = await make_agreement(session, loan=loan, items=[(JAN_31, 4_000)])
    item = await session.scalar(select(ScheduleItem).where(ScheduleItem.agreement_id == agreement.id))
    item.paid_fen, item.status = 4_000, ScheduleItemStatus.PAID
    await session.commit()

    report = await reconcile_schedules(session, today=FEB_2)
    await session.commit()

    assert report.agreements_kept == 1
    assert (await session.get(Agreement, agreement.id, populate_existing=True)).status == "kept"


async def run_manage(database_url: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.manage", *args,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, output.decode()


async def test_reconcile_command_marks_and_reports(database_url, session):
    loan = await make_loan(session, schedule=[(JAN_31, 5_000)])

    code, output = await run_manage(database_url, "reconcile", "--today", "2026-02-02")

    assert code == 0, output
    assert "1 schedule item(s) missed" in output
    assert await item_statuses(session, loan.id) == ["missed"]
