"""Create reminders from loan schedules and promises-to-pay (idempotent).

For every open schedule item near its date, in the borrower's own time zone:

- pending, `outreach_days_before_due` days before its due date     -> due_soon
- pending, on its due date                                          -> due_today, or
  promise_due when the item is a promise-to-pay (an agreement of kind partial_payment)
- missed, `outreach_missed_after_days` after its due date (and until
  `outreach_missed_lookback_days` after it)                         -> missed_payment, or
  promise_followup for a broken promise (the one follow-up)

each due at `outreach_send_local_time` borrower-local on its day. Whether and when it is
really sent is the gate's business (gate.py), decided at send time.

Idempotent without reading first: every row carries a unique `source_key`, and the
INSERT is `ON CONFLICT (source_key) DO NOTHING`, so any number of passes and any number
of concurrent schedulers create each reminder exactly once. Flush only.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement
from api.audit import service as audit
from api.audit.models import AuditAction
from api.loans.models import Borrower, Loan, LoanStatus, ScheduleItem, ScheduleItemStatus
from api.offers.codes import OptionKind
from api.outreach.gate import local_moment
from api.outreach.models import OutreachKind, OutreachMessage, OutreachStatus

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = "system:outreach-scheduler"
# Rows handed to one executemany (SQLAlchemy splits them into batched INSERTs).
INSERT_CHUNK = 5000
# Schedule rows read per query while scanning.
SCAN_CHUNK = 5000
# Borrower-local "today" is within a day of UTC's; the scan window adds this margin.
ZONE_MARGIN = timedelta(days=1)
PROMISE_KINDS = frozenset({OptionKind.PARTIAL_PAYMENT.value})


def source_key(*, schedule_item_id: int, kind: OutreachKind | str) -> str:
    """The dedupe key of a reminder about one schedule item (one of each kind, ever)."""
    return f"schedule:{schedule_item_id}:{OutreachKind(kind).value}"


@dataclass(frozen=True)
class ReminderSpec:
    """A reminder to create; `enqueue` inserts it unless its source_key exists."""

    borrower_id: int
    loan_id: int
    kind: OutreachKind
    source_key: str
    due_at: datetime
    expires_at: datetime | None = None
    schedule_item_id: int | None = None
    agreement_id: int | None = None
    payload: dict = field(default_factory=dict)

    def row(self, *, now: datetime) -> dict:
        return {
            "borrower_id": self.borrower_id, "loan_id": self.loan_id,
            "schedule_item_id": self.schedule_item_id, "agreement_id": self.agreement_id,
            "kind": self.kind.value, "source_key": self.source_key, "template_key": self.kind.value,
            "status": OutreachStatus.PENDING.value, "due_at": self.due_at, "not_before": self.due_at,
            "expires_at": self.expires_at, "attempts": 0, "created_at": now, "updated_at": now,
            "payload": {"kind": self.kind.value, **self.payload},
        }


@dataclass(frozen=True)
class ScheduleReport:
    scanned: int  # schedule items looked at
    candidates: int  # reminders they call for (existing ones included)
    created: int  # reminders inserted by this pass
    by_kind: dict[str, int]  # created, per kind


async def enqueue(session: AsyncSession, specs: list[ReminderSpec], *, now: datetime) -> list[int]:
    """Insert the reminders whose source_key is new; returns the ids created (flush only).

    The public way for other code (e.g. promise reconciliation) to add a reminder: a
    second call with the same source_key creates nothing, whatever runs concurrently.
    """
    return [row_id for row_id, _ in await _insert(session, specs, now=now)]


async def _insert(session: AsyncSession, specs: list[ReminderSpec], *, now: datetime) -> list[tuple[int, str]]:
    if not specs:
        return []
    dialect = (await session.connection()).dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"outreach scheduling not implemented for {dialect}")
    # One compiled statement, executed over many rows (SQLAlchemy's "insertmanyvalues"
    # batches them): building a multi-row VALUES per chunk cost more than the database.
    table = OutreachMessage.__table__
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["source_key"])
        .returning(table.c.id, table.c.kind)
    )
    created: list[tuple[int, str]] = []
    for start in range(0, len(specs), INSERT_CHUNK):
        rows = [spec.row(now=now) for spec in specs[start:start + INSERT_CHUNK]]
        created.extend((row_id, kind) for row_id, kind in (await session.execute(statement, rows)).all())
    return created


async def schedule_reminders(session: AsyncSession, *, now: datetime, settings) -> ScheduleReport:
    """One scheduler pass at `now`: create every reminder the schedules call for.

    Audits one outreach.scheduled event with the counts when it created any (each row
    is itself the record of its reminder, with created_at and source_key).
    """
    plan = _Plan.from_settings(settings)
    scanned, specs = 0, []
    async for rows in _open_items(session, now=now, plan=plan):
        scanned += len(rows)
        for row in rows:
            try:
                specs.extend(plan.reminders_for(row, now=now))
            except (ZoneInfoNotFoundError, ValueError):
                # One borrower's unusable time zone must not stop everyone's reminders;
                # without a zone, T1 cannot be honoured, so nothing is created for them.
                log.error("borrower %s has an unusable time zone %r: no reminder for item %s",
                          row.borrower_id, row.timezone, row.item_id)
    created = await _insert(session, specs, now=now)
    by_kind = dict(Counter(str(kind) for _, kind in created))
    if created:
        ids = [row_id for row_id, _ in created]
        await audit.append(
            session, actor=SCHEDULER_ACTOR, action=AuditAction.OUTREACH_SCHEDULED, subject="outreach",
            payload={"created": len(created), "by_kind": by_kind, "at": now.isoformat(),
                     "first_id": min(ids), "last_id": max(ids)},
        )
    return ScheduleReport(scanned=scanned, candidates=len(specs), created=len(created), by_kind=by_kind)


@dataclass(frozen=True)
class _ItemRow:
    item_id: int
    loan_id: int
    borrower_id: int
    timezone: str
    due_date: date
    status: str
    agreement_id: int | None
    agreement_kind: str | None


@dataclass(frozen=True)
class _Plan:
    days_before: int
    missed_after: int
    missed_lookback: int
    send_at: time

    @classmethod
    def from_settings(cls, settings) -> _Plan:
        return cls(
            days_before=settings.outreach_days_before_due,
            missed_after=settings.outreach_missed_after_days,
            missed_lookback=settings.outreach_missed_lookback_days,
            send_at=settings.outreach_send_local_time,
        )

    def reminders_for(self, row: _ItemRow, *, now: datetime) -> list[ReminderSpec]:
        zone = ZoneInfo(row.timezone)
        today = now.astimezone(zone).date()
        promise = row.agreement_kind in PROMISE_KINDS
        due = row.due_date
        wanted: list[tuple[OutreachKind, date, date]] = []  # kind, send day, first stale day
        if row.status == ScheduleItemStatus.PENDING:
            if self.days_before > 0 and due - timedelta(days=self.days_before) <= today < due:
                wanted.append((OutreachKind.DUE_SOON, due - timedelta(days=self.days_before), due))
            if today == due:
                kind = OutreachKind.PROMISE_DUE if promise else OutreachKind.DUE_TODAY
                wanted.append((kind, due, due + timedelta(days=1)))
        elif row.status == ScheduleItemStatus.MISSED:
            first = due + timedelta(days=self.missed_after)
            stale = due + timedelta(days=self.missed_lookback + 1)
            if first <= today < stale:
                kind = OutreachKind.PROMISE_FOLLOWUP if promise else OutreachKind.MISSED_PAYMENT
                wanted.append((kind, first, stale))
        return [
            ReminderSpec(
                borrower_id=row.borrower_id, loan_id=row.loan_id, kind=kind,
                source_key=source_key(schedule_item_id=row.item_id, kind=kind),
                due_at=local_moment(day, self.send_at, zone),
                expires_at=local_moment(stale, time(0, 0), zone),
                schedule_item_id=row.item_id, agreement_id=row.agreement_id,
                payload={"schedule_item_id": row.item_id, "loan_id": row.loan_id,
                         "agreement_id": row.agreement_id, "due_date": row.due_date.isoformat()},
            )
            for kind, day, stale in wanted
        ]


async def _open_items(session: AsyncSession, *, now: datetime, plan: _Plan):
    """Open schedule items whose date is near enough to call for a reminder, in chunks
    (keyset by id), joined with what the reminder needs."""
    utc_today = now.date()
    earliest = utc_today - timedelta(days=plan.missed_lookback) - ZONE_MARGIN
    latest = utc_today + timedelta(days=plan.days_before) + ZONE_MARGIN
    after = 0
    while True:
        result = await session.execute(
            select(
                ScheduleItem.id, ScheduleItem.loan_id, Loan.borrower_id, Borrower.timezone,
                ScheduleItem.due_date, ScheduleItem.status, ScheduleItem.agreement_id, Agreement.kind,
            )
            .join(Loan, Loan.id == ScheduleItem.loan_id)
            .join(Borrower, Borrower.id == Loan.borrower_id)
            .outerjoin(Agreement, Agreement.id == ScheduleItem.agreement_id)
            .where(
                ScheduleItem.id > after,
                ScheduleItem.status.in_([ScheduleItemStatus.PENDING, ScheduleItemStatus.MISSED]),
                ScheduleItem.due_date.between(earliest, latest),
                Loan.status != LoanStatus.SETTLED,
            )
            .order_by(ScheduleItem.id)
            .limit(SCAN_CHUNK)
        )
        rows = [_ItemRow(*r) for r in result.all()]
        if not rows:
            return
        yield rows
        after = rows[-1].item_id
