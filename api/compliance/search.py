"""Find conversations: structured filters plus Chinese free text over every message.

Free text uses a real index (api/compliance/search_index.py): FTS5 `trigram` on SQLite,
pg_trgm GIN on PostgreSQL. The query is split on whitespace into terms; a conversation
matches when one of its messages contains every term (case-insensitive substring).

Why terms shorter than 3 characters are special: both indexes are built from trigrams,
and a 1–2 character string contains no trigram, so no index can answer it ("律师" or
"投诉" are common 2-character words). Such terms are still matched exactly, by a
substring scan (LIKE with escaped wildcards):
- next to a term of 3+ characters, the index finds the candidates and the short term
  only filters them (cheap);
- alone, the scan reads messages. It is restricted by the other filters (date range,
  channel, borrower…) before any text is compared, and the page is still exact. It is
  the slow path: the page says so (`text_mode = "scan"`), and narrowing by date or
  borrower keeps it fast.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, column, func, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.agreements.models import Agreement
from api.compliance.models import ComplianceFlag, Review
from api.core.pii import mask_pii
from api.gateway.models import Conversation, Escalation, Message

TRIGRAM = 3
SNIPPET_RADIUS = 30
MAX_TERMS = 8


@dataclass(frozen=True)
class SearchFilters:
    started_from: datetime | None = None  # conversation start, UTC, inclusive
    started_to: datetime | None = None  # exclusive
    channel: str | None = None
    borrower_id: int | None = None
    agreement_kind: str | None = None
    escalation_reason: str | None = None
    rule_id: str | None = None
    verdict: str | None = None
    q: str | None = None


@dataclass(frozen=True)
class Hit:
    conversation: Conversation
    last_message_at: datetime | None
    message_count: int
    agreement_kinds: list[str]
    escalation_reasons: list[str]
    rule_ids: list[str]
    verdict: str | None
    snippet: str | None
    snippet_message_id: int | None


@dataclass(frozen=True)
class SearchPage:
    items: list[Hit]
    total: int
    page: int
    page_size: int
    text_mode: str | None  # "index", "index+scan", "scan" or None without text


def terms_of(q: str | None) -> list[str]:
    return [t for t in (q or "").split() if t][:MAX_TERMS]


def text_mode(terms: list[str]) -> str | None:
    if not terms:
        return None
    long = any(len(t) >= TRIGRAM for t in terms)
    short = any(len(t) < TRIGRAM for t in terms)
    return "index+scan" if long and short else "index" if long else "scan"


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def message_text_conditions(dialect: str, terms: list[str]) -> list:
    """WHERE conditions on Message for all terms; the index serves terms of 3+ chars."""
    conditions = []
    long = [t for t in terms if len(t) >= TRIGRAM]
    if dialect == "sqlite":
        if long:
            fts = " AND ".join(_fts_phrase(t) for t in long)
            matched = (
                select(column("rowid"))
                .select_from(table("messages_fts"))
                .where(text("messages_fts MATCH :fts").bindparams(fts=fts))
            )
            conditions.append(Message.id.in_(matched))
        conditions += [Message.text.like(_like(t), escape="\\") for t in terms if len(t) < TRIGRAM]
    else:
        # pg_trgm's GIN index answers ILIKE directly for the long terms.
        conditions += [Message.text.ilike(_like(t), escape="\\") for t in terms]
    return conditions


def _latest_verdict():
    later = aliased(Review)
    return select(func.max(later.id)).where(later.conversation_id == Review.conversation_id).scalar_subquery()


def _filtered(filters: SearchFilters, dialect: str) -> Select:
    C = Conversation
    query = select(C.id)
    if filters.started_from is not None:
        query = query.where(C.created_at >= filters.started_from)
    if filters.started_to is not None:
        query = query.where(C.created_at < filters.started_to)
    if filters.channel:
        query = query.where(C.channel == filters.channel)
    if filters.borrower_id is not None:
        query = query.where(C.borrower_id == filters.borrower_id)
    if filters.agreement_kind:
        query = query.where(C.id.in_(select(Agreement.conversation_id).where(Agreement.kind == filters.agreement_kind)))
    if filters.escalation_reason:
        query = query.where(C.id.in_(
            select(Escalation.conversation_id).where(Escalation.reason_code == filters.escalation_reason)))
    if filters.rule_id:
        query = query.where(C.id.in_(select(ComplianceFlag.conversation_id).where(ComplianceFlag.rule_id == filters.rule_id)))
    if filters.verdict:
        query = query.where(C.id.in_(
            select(Review.conversation_id).where(Review.verdict == filters.verdict, Review.id == _latest_verdict())))
    terms = terms_of(filters.q)
    if terms:
        query = query.where(C.id.in_(
            select(Message.conversation_id).where(*message_text_conditions(dialect, terms))))
    return query


async def search(
    session: AsyncSession, *, filters: SearchFilters, page: int = 1, page_size: int = 20
) -> SearchPage:
    """One page of matching conversations, newest first, with what a reviewer scans for."""
    dialect = (await session.connection()).dialect.name
    matching = _filtered(filters, dialect).subquery()
    total = await session.scalar(select(func.count()).select_from(matching))
    conversations = (
        await session.scalars(
            select(Conversation)
            .where(Conversation.id.in_(select(matching.c.id)))
            .order_by(Conversation.created_at.desc(), Conversation.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    ).all()
    items = await _hits(session, conversations, terms_of(filters.q), dialect)
    return SearchPage(items, total or 0, page, page_size, text_mode(terms_of(filters.q)))


async def _grouped(session: AsyncSession, query) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for cid, value in (await session.execute(query)).all():
        values = found.setdefault(cid, [])
        if value not in values:
            values.append(value)
    return found


async def _hits(session: AsyncSession, conversations, terms: list[str], dialect: str) -> list[Hit]:
    ids = [c.id for c in conversations]
    if not ids:
        return []
    stats = {
        cid: (last, n)
        for cid, last, n in (await session.execute(
            select(Message.conversation_id, func.max(Message.created_at), func.count(Message.id))
            .where(Message.conversation_id.in_(ids)).group_by(Message.conversation_id)
        )).all()
    }
    kinds = await _grouped(session, select(Agreement.conversation_id, Agreement.kind)
                           .where(Agreement.conversation_id.in_(ids)).order_by(Agreement.id))
    reasons = await _grouped(session, select(Escalation.conversation_id, Escalation.reason_code)
                             .where(Escalation.conversation_id.in_(ids)).order_by(Escalation.id))
    rules = await _grouped(session, select(ComplianceFlag.conversation_id, ComplianceFlag.rule_id)
                           .where(ComplianceFlag.conversation_id.in_(ids)).order_by(ComplianceFlag.rule_id))
    verdicts = dict((await session.execute(
        select(Review.conversation_id, Review.verdict)
        .where(Review.conversation_id.in_(ids), Review.id == _latest_verdict())
    )).all())
    snippets = await _snippets(session, ids, terms, dialect)
    return [
        Hit(
            conversation=c,
            last_message_at=stats.get(c.id, (None, 0))[0],
            message_count=stats.get(c.id, (None, 0))[1],
            agreement_kinds=kinds.get(c.id, []),
            escalation_reasons=[str(r) for r in reasons.get(c.id, [])],
            rule_ids=rules.get(c.id, []),
            verdict=verdicts.get(c.id),
            snippet=snippets.get(c.id, (None, None))[1],
            snippet_message_id=snippets.get(c.id, (None, None))[0],
        )
        for c in conversations
    ]


async def _snippets(session: AsyncSession, ids: list[str], terms: list[str], dialect: str) -> dict:
    """The first matching message of each conversation, masked (PD2), cut around the match."""
    if not terms:
        return {}
    first = (
        select(func.min(Message.id))
        .where(Message.conversation_id.in_(ids), *message_text_conditions(dialect, terms))
        .group_by(Message.conversation_id)
    )
    rows = (await session.execute(
        select(Message.id, Message.conversation_id, Message.text).where(Message.id.in_(first))
    )).all()
    return {cid: (mid, snippet(text_, terms[0])) for mid, cid, text_ in rows}


def snippet(text_: str, term: str) -> str:
    masked = mask_pii(text_)
    at = masked.lower().find(term.lower())
    if at < 0:  # the term was inside a masked number: show the start
        return masked[: 2 * SNIPPET_RADIUS] + ("…" if len(masked) > 2 * SNIPPET_RADIUS else "")
    start, end = max(0, at - SNIPPET_RADIUS), min(len(masked), at + len(term) + SNIPPET_RADIUS)
    return ("…" if start else "") + masked[start:end] + ("…" if end < len(masked) else "")
