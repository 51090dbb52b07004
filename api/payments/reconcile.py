"""Daily reconciliation: overdue schedule items become missed, agreements kept or broken.

Rules:
- A *pending* item whose due date has passed (due_date < today) and that is not fully
  paid (paid_fen < amount_fen) becomes *missed* (AuditAction.SCHEDULE_ITEM_MISSED). An
  item due today is not missed yet: the borrower has until the end of their day.
- "Today" is each borrower's own calendar date (Borrower.timezone) at `now`, unless the
  caller fixes one date for everyone with `today` (operators, tests).
- Loans under the lender's pause flag (O5, breathing space) are skipped: nothing is
  marked missed while collection is paused.
- Then every active agreement with a missed item becomes *broken*, and every active
  agreement whose (non-superseded) items are all paid becomes *kept*
  (AuditAction.AGREEMENT_STATUS_CHANGED).

Flush only: the job's one transaction commits everything, or nothing.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import AgreementStatus
from api.audit import service as audit
from api.audit.models import AuditAction
from api.core.db import utcnow
from api.loans.models import Borrower, Loan, ScheduleItem, ScheduleItemStatus
from api.payments.agreement_status import settle_agreement_statuses
from api.payments.locking import lock_loan


@dataclass(frozen=True)
class ReconcileReport:
    items_missed: int
    agreements_kept: int
    agreements_broken: int


async def reconcile_schedules(
    session: AsyncSession,
    *,
    today: date | None = None,
    now: datetime | None = None,
    actor: str = "system",
) -> ReconcileReport:
    now = now or utcnow()
    # No borrower's local date is later than UTC's + 1 day (UTC+14 at most): a cheap
    # bound for the query; each item is then judged on its borrower's own date.
    horizon = today or (now.astimezone(timezone.utc).date() + timedelta(days=1))
    candidates = (
        await session.execute(
            select(Loan.id, Borrower.timezone)
            .join(ScheduleItem, ScheduleItem.loan_id == Loan.id)
            .join(Borrower, Borrower.id == Loan.borrower_id)
            .where(
                ScheduleItem.status == ScheduleItemStatus.PENDING,
                ScheduleItem.due_date < horizon,
                ScheduleItem.paid_fen < ScheduleItem.amount_fen,
                Loan.collection_paused.is_(False),
            )
            .distinct()
            .order_by(Loan.id)  # one lock order for every job: no deadlock between jobs
        )
    ).all()
    # Every loan is locked before the first audit append: a payment holds its loan's
    # lock and then waits for the audit chain lock, so taking the chain lock while still
    # collecting loan locks could deadlock with it.
    overdue: list[ScheduleItem] = []
    for loan_id, tz in candidates:
        local_today = today or now.astimezone(ZoneInfo(tz)).date()
        overdue += await _lock_and_find_overdue(session, loan_id=loan_id, today=local_today)
    for item in overdue:
        await _mark_missed(session, item=item, actor=actor)
    changed = await settle_agreement_statuses(session, actor=actor)
    statuses = list(changed.values())
    return ReconcileReport(
        items_missed=len(overdue),
        agreements_kept=statuses.count(AgreementStatus.KEPT),
        agreements_broken=statuses.count(AgreementStatus.BROKEN),
    )


async def _lock_and_find_overdue(
    session: AsyncSession, *, loan_id: int, today: date
) -> list[ScheduleItem]:
    loan = await lock_loan(session, loan_id)  # a payment in flight finishes first
    if loan is None or loan.collection_paused:
        return []
    items = await session.scalars(
        select(ScheduleItem)
        .where(
            ScheduleItem.loan_id == loan_id,
            ScheduleItem.status == ScheduleItemStatus.PENDING,
            ScheduleItem.due_date < today,
            ScheduleItem.paid_fen < ScheduleItem.amount_fen,
        )
        .order_by(ScheduleItem.due_date, ScheduleItem.seq, ScheduleItem.id)
        .execution_options(populate_existing=True)
    )
    return list(items.all())


async def _mark_missed(session: AsyncSession, *, item: ScheduleItem, actor: str) -> None:
    item.status = ScheduleItemStatus.MISSED
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.SCHEDULE_ITEM_MISSED,
        subject=f"loan:{item.loan_id}",
        payload={
            "schedule_item_id": item.id,
            "agreement_id": item.agreement_id,
            "seq": item.seq,
            "due_date": item.due_date.isoformat(),
            "amount_fen": item.amount_fen,
            "paid_fen": item.paid_fen,
        },
    )
