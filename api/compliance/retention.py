"""Retention (A1): anonymise conversations a configurable number of years
(`RETENTION_YEARS`, default 3) after their last activity.

`python -m api.compliance.retention` runs the job (`--now 2030-01-01T00:00:00Z` for a
dry clock). What anonymising does, per conversation, in one transaction:
- its flags are brought up to date first, so the aggregates reflect what was said;
- every message text becomes 「〔已匿名化〕」, payloads and channel ids are cleared (the
  FTS triggers drop the old text from the search index as well);
- the conversation loses its borrower link and channel user id;
- agreements, escalations, flags and reviews stay (the dashboard's aggregates), and
  the audit chain is not touched: an `conversation.anonymised` event is appended, so
  `python -m api.audit verify` still passes. Audit payloads hold ids, codes and hashes,
  not message text.
An evidence pack exported before anonymisation still verifies offline; one exported
after it carries the anonymised transcript.
"""

import argparse
import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append
from api.compliance import flag_cache
from api.compliance.models import Anonymisation, FlagScan
from api.core.config import get_settings
from api.core.db import make_engine, make_sessionmaker, utcnow
from api.gateway.models import Conversation, Message

PLACEHOLDER = "〔已匿名化〕"


@dataclass(frozen=True)
class RetentionReport:
    cutoff: datetime
    anonymised: list[str]
    messages: int


def cutoff_for(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February in a year that has none
        return now.replace(year=now.year - years, day=28)


async def expired_conversations(session: AsyncSession, *, cutoff: datetime) -> list[tuple[str, datetime]]:
    last = func.coalesce(func.max(Message.created_at), Conversation.created_at)
    rows = (await session.execute(
        select(Conversation.id, last)
        .outerjoin(Message, Message.conversation_id == Conversation.id)
        .where(Conversation.id.not_in(select(Anonymisation.conversation_id)))
        .group_by(Conversation.id, Conversation.created_at)
        .having(last < cutoff)
    )).all()
    return [(cid, at) for cid, at in rows]


async def anonymise(session: AsyncSession, *, conversation_id: str, last_activity_at: datetime, actor: str) -> int:
    conversation = await session.get(Conversation, conversation_id)
    await flag_cache.refresh_stale(session, [conversation_id])
    changed = await session.execute(
        update(Message).where(Message.conversation_id == conversation_id)
        .values(text=PLACEHOLDER, payload=None, channel_message_id=None)
    )
    conversation.borrower_id = None
    conversation.external_user_id = None
    await session.flush()
    # The flags stay as computed from the original text: record the new state as scanned.
    fingerprint = (await flag_cache.fingerprints(session, [conversation_id]))[conversation_id]
    await session.execute(update(FlagScan).where(FlagScan.conversation_id == conversation_id)
                          .values(fingerprint=fingerprint))
    session.add(Anonymisation(conversation_id=conversation_id, last_activity_at=last_activity_at,
                              messages=changed.rowcount, anonymised_at=utcnow()))
    await append(session, actor=actor, action=AuditAction.CONVERSATION_ANONYMISED,
                 subject=f"conversation:{conversation_id}",
                 payload={"messages": changed.rowcount, "last_activity_at": last_activity_at.isoformat()})
    return changed.rowcount


async def run_retention(session: AsyncSession, *, now: datetime, years: int, actor: str = "system") -> RetentionReport:
    cutoff = cutoff_for(now, years)
    done, messages = [], 0
    for conversation_id, last_activity_at in await expired_conversations(session, cutoff=cutoff):
        messages += await anonymise(session, conversation_id=conversation_id,
                                    last_activity_at=last_activity_at, actor=actor)
        done.append(conversation_id)
    return RetentionReport(cutoff=cutoff, anonymised=done, messages=messages)


async def _main(now: datetime) -> RetentionReport:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            return await run_retention(session, now=now, years=settings.retention_years)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.compliance.retention")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="the job's clock (ISO 8601, default: now, UTC)")
    args = parser.parse_args(argv)
    now = args.now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    report = asyncio.run(_main(now))
    print(f"匿名化 {len(report.anonymised)} 个会话（{report.messages} 条消息），截止 {report.cutoff:%Y-%m-%d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
