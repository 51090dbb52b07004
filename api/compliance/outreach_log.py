"""The outreach log for compliance (A1, A3): every proactive reminder — sent, held,
blocked, cancelled, failed or still waiting — with the rule behind a hold or block, UTC
and borrower-local times, channel and template, and the automatic flags of any send that
broke a rule (api/compliance/outreach_flags.py, stored with the conversation's flags).

Filters: borrower, status, kind, channel, rule id (the rule that held or blocked a
reminder, or a flag on a sent one), flagged sends only, and a UTC date range over the
reminder's time (when it was sent, else when it was due). Newest first, paginated.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.compliance import flag_cache
from api.compliance.models import ComplianceFlag
from api.gateway.models import Message
from api.gateway.transcript import DEFAULT_TIMEZONE
from api.loans.models import Borrower
from api.outreach.models import OutreachMessage


@dataclass(frozen=True)
class LogFilters:
    borrower_id: int | None = None
    status: str | None = None
    kind: str | None = None
    channel: str | None = None
    rule_id: str | None = None
    flagged: bool | None = None
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive


@dataclass(frozen=True)
class LogEntry:
    row: OutreachMessage
    timezone: str
    template: str | None  # what the stored message records (e.g. "outreach.due_today")
    flags: list[ComplianceFlag]

    @property
    def at(self) -> datetime:
        return self.row.sent_at or self.row.due_at

    def local(self, moment: datetime | None) -> datetime | None:
        return moment.astimezone(ZoneInfo(self.timezone)) if moment is not None else None


@dataclass(frozen=True)
class LogPage:
    items: list[LogEntry]
    total: int
    page: int
    page_size: int


def _moment():
    return func.coalesce(OutreachMessage.sent_at, OutreachMessage.due_at)


def _flagged(rule_id: str | None = None):
    flagged = select(ComplianceFlag.message_id).where(ComplianceFlag.message_id.is_not(None))
    if rule_id:
        flagged = flagged.where(ComplianceFlag.rule_id == rule_id)
    return OutreachMessage.message_id.in_(flagged)


def _filtered(filters: LogFilters) -> Select:
    O = OutreachMessage
    query = select(O.id)
    if filters.borrower_id is not None:
        query = query.where(O.borrower_id == filters.borrower_id)
    if filters.status:
        query = query.where(O.status == filters.status)
    if filters.kind:
        query = query.where(O.kind == filters.kind)
    if filters.channel:
        query = query.where(O.channel == filters.channel)
    if filters.rule_id:
        query = query.where(or_(O.rule_id == filters.rule_id, _flagged(filters.rule_id)))
    if filters.flagged is not None:
        query = query.where(_flagged() if filters.flagged else ~_flagged())
    if filters.since is not None:
        query = query.where(_moment() >= filters.since)
    if filters.until is not None:
        query = query.where(_moment() < filters.until)
    return query


async def outreach_log(
    session: AsyncSession, *, filters: LogFilters, page: int = 1, page_size: int = 50
) -> LogPage:
    if filters.rule_id or filters.flagged is not None:
        await flag_cache.refresh_stale(session)  # the filter reads flags: bring them up to date
    matching = _filtered(filters).subquery()
    total = await session.scalar(select(func.count()).select_from(matching))
    rows = (
        await session.execute(
            select(OutreachMessage, Borrower.timezone)
            .join(Borrower, Borrower.id == OutreachMessage.borrower_id)
            .where(OutreachMessage.id.in_(select(matching.c.id)))
            .order_by(_moment().desc(), OutreachMessage.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    ).all()
    flags = await _flags_of(session, [row for row, _ in rows])
    templates = await _templates_of(session, [row for row, _ in rows])
    items = [
        LogEntry(row=row, timezone=zone or DEFAULT_TIMEZONE, template=templates.get(row.message_id),
                 flags=flags.get(row.message_id, []))
        for row, zone in rows
    ]
    return LogPage(items, total or 0, page, page_size)


async def _flags_of(session: AsyncSession, rows: list[OutreachMessage]) -> dict[int, list[ComplianceFlag]]:
    """The flags of the page's stored reminders, recomputed first where stale."""
    sent = [r for r in rows if r.message_id is not None and r.conversation_id is not None]
    if not sent:
        return {}
    await flag_cache.refresh_stale(session, sorted({r.conversation_id for r in sent}))
    found: dict[int, list[ComplianceFlag]] = {}
    for flag in (await session.scalars(
        select(ComplianceFlag).where(ComplianceFlag.message_id.in_([r.message_id for r in sent]))
        .order_by(ComplianceFlag.rule_id, ComplianceFlag.id)
    )).all():
        found.setdefault(flag.message_id, []).append(flag)
    return found


async def _templates_of(session: AsyncSession, rows: list[OutreachMessage]) -> dict[int, str | None]:
    ids = [r.message_id for r in rows if r.message_id is not None]
    if not ids:
        return {}
    return dict((await session.execute(select(Message.id, Message.template).where(Message.id.in_(ids)))).all())

