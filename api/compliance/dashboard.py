"""Dashboard data (A3): agreements by kind, escalation reasons, flags per week, guard
blocks per week, reviewer verdicts, over a date range (UTC)."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement
from api.audit.models import AuditAction, AuditEvent
from api.compliance import flag_cache
from api.compliance.models import ComplianceFlag, Review
from api.gateway.models import Escalation


@dataclass(frozen=True)
class Count:
    key: str
    count: int


@dataclass(frozen=True)
class WeekCount:
    week: date  # Monday of the ISO week (UTC)
    key: str
    count: int


@dataclass(frozen=True)
class Dashboard:
    since: datetime
    until: datetime
    agreements_by_kind: list[Count]
    escalations_by_reason: list[Count]
    flags_per_week: list[WeekCount]
    guard_blocks_per_week: list[WeekCount]
    verdicts: list[Count]


def week_of(at: datetime) -> date:
    day = at.date()
    return day - timedelta(days=day.weekday())


async def _counts(session: AsyncSession, key, at, since: datetime, until: datetime) -> list[Count]:
    rows = (await session.execute(
        select(key, func.count()).where(at >= since, at < until).group_by(key).order_by(func.count().desc(), key)
    )).all()
    return [Count(str(k), n) for k, n in rows]


def _weekly(pairs) -> list[WeekCount]:
    counted = Counter((week_of(at), key) for at, key in pairs)
    return [WeekCount(w, k, n) for (w, k), n in sorted(counted.items())]


async def dashboard(session: AsyncSession, *, since: datetime, until: datetime) -> Dashboard:
    await flag_cache.refresh_stale(session)
    flags = (await session.execute(
        select(ComplianceFlag.occurred_at, ComplianceFlag.rule_id)
        .where(ComplianceFlag.occurred_at >= since, ComplianceFlag.occurred_at < until)
    )).all()
    blocks = (await session.execute(
        select(AuditEvent.at, AuditEvent.payload).where(
            AuditEvent.action == AuditAction.CONSOLE_MESSAGE_BLOCKED,
            AuditEvent.at >= since, AuditEvent.at < until)
    )).all()
    block_pairs = [
        (at, rule)
        for at, payload in blocks
        for rule in sorted({v.get("rule_id", "?") for v in (payload or {}).get("violations", [])} or {"?"})
    ]
    return Dashboard(
        since=since, until=until,
        agreements_by_kind=await _counts(session, Agreement.kind, Agreement.created_at, since, until),
        escalations_by_reason=await _counts(session, Escalation.reason_code, Escalation.created_at, since, until),
        flags_per_week=_weekly(flags),
        guard_blocks_per_week=_weekly(block_pairs),
        verdicts=await _counts(session, Review.verdict, Review.created_at, since, until),
    )
