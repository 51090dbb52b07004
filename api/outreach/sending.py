"""Sending one reminder: claim, decide at send time, record, push (the worker's steps).

Never a double send, whatever runs at once:

1. Claim (one short transaction): `WITH c AS MATERIALIZED (SELECT id ... WHERE <due>
   LIMIT n FOR UPDATE SKIP LOCKED) UPDATE outreach_messages SET status='claimed',
   claimed_by=me, claim_expires_at=now+lease FROM c WHERE id = c.id AND <due> RETURNING
   id` on PostgreSQL (concurrent claimers skip each other's locked rows); on SQLite the
   same UPDATE with `id IN (SELECT ...)` under its single write lock. <due> = pending or
   held with not_before <= now, or claimed with an expired lease (a crashed worker).
2. Send (one transaction per reminder): take the borrower's row lock first (the same
   no-op UPDATE the preference writers take, api/contact_preferences/service.py), re-read
   the reminder, the borrower's preferences, the loan's pause flag, any plan, any open
   escalation and their recent sends, ask the gate, and record the verdict — sent (the
   message stored in the transcript), held, blocked or cancelled — with its audit event,
   all in this one commit. The final write is conditional on `claimed_by = me`: a worker
   whose lease was taken over writes nothing. An opt-out committed before this
   transaction's lock is seen and blocks the send (T4); one after it waits for the lock.
3. After the commit: a live-stream hint (web), or the WeChat push (delivery.py) whose
   outcome is written back; a refused push is retried later (re-gated, the stored
   message pushed again, never stored twice) up to OUTREACH_MAX_ATTEMPTS, then the
   reminder is failed. Nothing is swallowed: every failure is on the row, its message
   and in the audit chain; a pass that raises is logged and the next pass runs.

The send is one transaction per reminder on purpose: the re-check at send time and the
record of what was sent must commit together (≈10 statements; bench/results/outreach.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from api.agreements.models import Agreement, AgreementStatus
from api.audit import service as audit
from api.audit.models import AuditAction
from api.contact_preferences.models import ContactPreference
from api.core.events import EventBus
from api.gateway.models import Channel, Conversation, Escalation
from api.gateway.wechat.client import WeChatApiClient
from api.loans.models import Borrower, Loan, LoanStatus, ScheduleItem, ScheduleItemStatus
from api.outreach import delivery
from api.outreach.gate import Action, ContactSnapshot, GateConfig, Verdict, evaluate
from api.outreach.models import (
    CLAIMABLE,
    OutreachKind,
    OutreachMessage,
    OutreachStatus,
)
from api.outreach.templates import TemplateBook

# Which schedule item status keeps a reminder of each kind relevant.
LIVE_ITEM_STATUS = {
    OutreachKind.DUE_SOON: ScheduleItemStatus.PENDING,
    OutreachKind.DUE_TODAY: ScheduleItemStatus.PENDING,
    OutreachKind.PROMISE_DUE: ScheduleItemStatus.PENDING,
    OutreachKind.MISSED_PAYMENT: ScheduleItemStatus.MISSED,
    OutreachKind.PROMISE_FOLLOWUP: ScheduleItemStatus.MISSED,
}
# T3 reads sends this much further back than the cap window (a local day may start
# before now - window in UTC).
SEND_HISTORY_MARGIN = timedelta(days=1)


# ---- 1. claim -------------------------------------------------------------------------


def _due(now: datetime):
    return or_(
        and_(OutreachMessage.status.in_(CLAIMABLE), OutreachMessage.not_before <= now),
        and_(OutreachMessage.status == OutreachStatus.CLAIMED, OutreachMessage.claim_expires_at <= now),
    )


async def claim_due(
    session: AsyncSession, *, worker_id: str, now: datetime, limit: int, lease_seconds: int
) -> list[int]:
    """The ids claimed by `claim_rows`, earliest first."""
    rows = await claim_rows(session, worker_id=worker_id, now=now, limit=limit, lease_seconds=lease_seconds)
    return [row_id for row_id, _ in rows]


async def claim_rows(
    session: AsyncSession, *, worker_id: str, now: datetime, limit: int, lease_seconds: int
) -> list[tuple[int, int]]:
    """Claim up to `limit` due reminders for `worker_id` (see the module doc); the caller
    commits at once. Returns (id, borrower_id) of the claimed rows, earliest first.

    PostgreSQL: the candidates are a MATERIALIZED CTE with FOR UPDATE SKIP LOCKED. As a
    plain `IN (SELECT ... LIMIT n)` subquery the planner may run the subquery more than
    once, and each run skips different locked rows, so one claim could take more than
    `limit` rows (seen in tests). SQLite: the same `IN` subquery under its single write
    lock, evaluated once.
    """
    candidates = (
        select(OutreachMessage.id)
        .where(_due(now))
        .order_by(OutreachMessage.not_before, OutreachMessage.id)
        .limit(limit)
    )
    claim = update(OutreachMessage).values(
        status=OutreachStatus.CLAIMED, claimed_by=worker_id,
        claim_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now,
    )
    if (await session.connection()).dialect.name == "postgresql":
        locked = candidates.with_for_update(skip_locked=True).cte("claim_candidates")
        locked = locked.prefix_with("MATERIALIZED")
        claim = claim.where(OutreachMessage.id == locked.c.id)
    else:
        claim = claim.where(OutreachMessage.id.in_(candidates.scalar_subquery()))
    result = await session.execute(
        claim.where(_due(now))
        .returning(OutreachMessage.id, OutreachMessage.borrower_id, OutreachMessage.not_before)
        .execution_options(synchronize_session=False)
    )
    ordered = sorted(result.all(), key=lambda r: (r.not_before, r.id))
    return [(r.id, r.borrower_id) for r in ordered]


# ---- 2. decide and record -------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    outreach_id: int
    status: OutreachStatus | None  # None: the claim was lost to another worker
    rule_id: str | None = None
    push: bool = False  # sent through WeChat: push it after the commit
    conversation_id: str | None = None  # sent: where the reminder is stored
    message_id: int | None = None


async def decide_and_record(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    outreach_id: int,
    worker_id: str,
    now: datetime,
    settings,
    templates: TemplateBook,
    borrower_id: int | None = None,
) -> Decided:
    """Step 2 for one claimed reminder, in one transaction (see the module doc).
    `borrower_id` saves a read when the caller knows it (the claim returns it)."""
    if borrower_id is None:
        async with sessionmaker() as session:
            borrower_id = await session.scalar(
                select(OutreachMessage.borrower_id).where(OutreachMessage.id == outreach_id)
            )
        if borrower_id is None:
            return Decided(outreach_id, None)
    async with sessionmaker.begin() as session:
        openid = await _lock_borrower(session, borrower_id)
        facts = await _facts(session, outreach_id, borrower_id=borrower_id, openid=openid)
        row = facts.row
        if row.status != OutreachStatus.CLAIMED or row.claimed_by != worker_id:
            return Decided(outreach_id, None)  # the lease expired and someone else has it
        stale = _obsolete(facts, now=now)
        if stale is not None:
            await _finish(session, row, OutreachStatus.CANCELLED, now=now, detail=stale,
                          action=AuditAction.OUTREACH_CANCELLED)
            return Decided(outreach_id, OutreachStatus.CANCELLED)
        verdict = evaluate(
            await _snapshot(session, facts, now=now, settings=settings),
            now=now, config=GateConfig.from_settings(settings),
        )
        return await _record(session, row, verdict, borrower=facts.borrower, target=facts.target,
                             templates=templates, settings=settings, now=now)


async def _lock_borrower(session: AsyncSession, borrower_id: int) -> str | None:
    """The borrower's row lock (PostgreSQL) / the write lock (SQLite), as preference
    writers take it: sends and opt-outs of one borrower run one after the other.
    Returns the borrower's WeChat openid as of the lock."""
    return await session.scalar(
        update(Borrower)
        .where(Borrower.id == borrower_id)
        .values(timezone=Borrower.timezone)
        .returning(Borrower.wechat_openid)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class _Facts:
    """Everything the decision reads, as of this transaction (read after the lock)."""

    row: OutreachMessage
    borrower: Borrower
    preference: ContactPreference | None
    loan_paused: bool
    loan_status: str
    item_status: str | None
    active_plan_id: int | None
    escalation: str | None
    target: delivery.ChannelTarget


@lru_cache(maxsize=1)
def _facts_query():
    """One query for the reminder, its borrower, loan, preferences, the active plan, any
    open escalation and the borrower's conversations. Built once, with the borrower's id
    and openid bound as values (not correlated), so every lookup uses an index: one
    round trip and no statement building per send (see bench/results/outreach.md)."""
    borrower_id, openid = bindparam("borrower_id"), bindparam("openid")
    active_plan = (
        select(Agreement.id)
        .where(Agreement.loan_id == Loan.id, Agreement.status == AgreementStatus.ACTIVE)
        .order_by(Agreement.id.desc()).limit(1).scalar_subquery()
    )
    item_status = (
        select(ScheduleItem.status).where(ScheduleItem.id == OutreachMessage.schedule_item_id)
        .scalar_subquery()
    )
    escalation = (  # on any conversation that is the borrower's (by id, or by their openid)
        select(Escalation.reason_code)
        .where(
            or_(Escalation.conversation_id.in_(select(Conversation.id).where(Conversation.borrower_id == borrower_id)),
                Escalation.conversation_id.in_(select(Conversation.id).where(Conversation.external_user_id == openid))),
            Escalation.resolved_at.is_(None),
        )
        .order_by(Escalation.urgency, Escalation.id).limit(1).scalar_subquery()
    )
    return (
        select(
            OutreachMessage, Borrower, ContactPreference, Loan.collection_paused, Loan.status,
            item_status, active_plan, escalation,
            delivery.wechat_conversation_id(openid), delivery.web_conversation_id(borrower_id),
        )
        .join(Borrower, Borrower.id == OutreachMessage.borrower_id)
        .join(Loan, Loan.id == OutreachMessage.loan_id)
        .outerjoin(ContactPreference, ContactPreference.borrower_id == OutreachMessage.borrower_id)
        .where(OutreachMessage.id == bindparam("outreach_id"))
        .execution_options(populate_existing=True)
    )


@lru_cache(maxsize=1)
def _sends_query():
    """When proactive messages reached the borrower (any channel), this reminder aside."""
    return select(OutreachMessage.sent_at).where(
        OutreachMessage.borrower_id == bindparam("borrower_id"),
        OutreachMessage.sent_at >= bindparam("since"),
        OutreachMessage.id != bindparam("outreach_id"),
    )


async def _facts(session: AsyncSession, outreach_id: int, *, borrower_id: int, openid: str | None) -> _Facts:
    result = await session.execute(
        _facts_query(), {"outreach_id": outreach_id, "borrower_id": borrower_id, "openid": openid}
    )
    (row, borrower, preference, paused, loan_status, item, plan, reason, wechat, web) = result.one()
    return _Facts(
        row=row, borrower=borrower, preference=preference, loan_paused=paused,
        loan_status=loan_status, item_status=item, active_plan_id=plan,
        escalation=None if reason is None else str(reason),
        target=delivery.target_for(borrower, wechat_conversation=wechat, web_conversation=web),
    )


def _obsolete(facts: _Facts, *, now: datetime) -> str | None:
    """Why the reminder no longer makes sense, or None."""
    row = facts.row
    if row.expires_at is not None and now >= row.expires_at:
        return "提醒已过时效，不再发送"
    if facts.loan_status == LoanStatus.SETTLED:
        return "贷款已结清"
    if row.schedule_item_id is not None:
        wanted = LIVE_ITEM_STATUS.get(OutreachKind(row.kind))
        if wanted is not None and facts.item_status != wanted:
            return f"该期还款状态已变为 {facts.item_status}，提醒不再适用"
    return None


async def _snapshot(session: AsyncSession, facts: _Facts, *, now: datetime, settings) -> ContactSnapshot:
    row, borrower = facts.row, facts.borrower
    since = now - timedelta(days=settings.outreach_cap_window_days) - SEND_HISTORY_MARGIN
    sends = (await session.scalars(
        _sends_query(), {"borrower_id": borrower.id, "since": since, "outreach_id": row.id}
    )).all()
    return ContactSnapshot(
        timezone=borrower.timezone,
        kind=str(row.kind),
        channel=str(facts.target.channel),
        channel_is_borrowers_own=facts.target.borrowers_own,
        preferences=facts.preference,
        loan_paused=facts.loan_paused,
        active_plan_id=facts.active_plan_id,
        reminder_plan_id=row.agreement_id,
        open_escalation_reason=facts.escalation,
        recent_sends=tuple(sends),
    )


async def _record(
    session: AsyncSession, row: OutreachMessage, verdict: Verdict, *, borrower: Borrower,
    target: delivery.ChannelTarget, templates: TemplateBook, settings, now: datetime,
) -> Decided:
    if verdict.action is Action.BLOCK:
        await _finish(session, row, OutreachStatus.BLOCKED, now=now, rule_id=verdict.rule_id,
                      detail=verdict.detail, action=AuditAction.OUTREACH_BLOCKED)
        return Decided(row.id, OutreachStatus.BLOCKED, verdict.rule_id)
    if verdict.action is Action.HOLD:
        await _finish(session, row, OutreachStatus.HELD, now=now, rule_id=verdict.rule_id,
                      detail=verdict.detail, action=AuditAction.OUTREACH_HELD, not_before=verdict.until,
                      extra={"until": verdict.until.isoformat()})
        return Decided(row.id, OutreachStatus.HELD, verdict.rule_id)
    reminder = _render(templates, row, settings)
    sent = {"channel": str(target.channel), "checked_rules": list(verdict.checked)}
    if row.message_id is None:  # a retried push reuses the message already stored
        message = await delivery.store_reminder(
            session, borrower=borrower, target=target, reminder=reminder, outreach=row, now=now
        )
        sent.update(message_id=message.id, conversation_id=message.conversation_id, sent_at=now,
                    delivery=delivery.planned_delivery(target))
    await _finish(session, row, OutreachStatus.SENT, now=now, action=AuditAction.OUTREACH_SENT,
                  values=sent,
                  extra={"channel": sent["channel"], "checked_rules": sent["checked_rules"],
                         "message_id": sent.get("message_id", row.message_id),
                         "conversation_id": sent.get("conversation_id", row.conversation_id),
                         "repush": "message_id" not in sent,
                         "template": reminder.template_name, "template_version": reminder.version,
                         "timezone": borrower.timezone,
                         "local_time": now.astimezone(ZoneInfo(borrower.timezone)).isoformat()})
    return Decided(row.id, OutreachStatus.SENT, push=target.channel == Channel.WECHAT,
                   conversation_id=row.conversation_id, message_id=row.message_id)


async def _finish(
    session: AsyncSession, row: OutreachMessage, status: OutreachStatus, *, now: datetime,
    action: AuditAction, rule_id: str | None = None, detail: str | None = None,
    not_before: datetime | None = None, values: dict | None = None, extra: dict | None = None,
) -> None:
    """Write the verdict onto the row — only if this worker still holds the claim — and
    audit it, in the caller's transaction. The loaded `row` is updated in memory without
    being marked dirty, so nothing but this conditional UPDATE writes it."""
    values = {"status": status, "rule_id": rule_id, "detail": detail, "claimed_by": None,
              "claim_expires_at": None, "updated_at": now, **(values or {})}
    if not_before is not None:
        values["not_before"] = not_before
    result = await session.execute(
        update(OutreachMessage)
        .where(OutreachMessage.id == row.id, OutreachMessage.status == OutreachStatus.CLAIMED,
               OutreachMessage.claimed_by == row.claimed_by)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LostClaim(row.id)
    await audit.append(
        session, actor=f"system:outreach-worker:{row.claimed_by}"[:128], action=action,
        subject=f"borrower:{row.borrower_id}",
        payload={"outreach_id": row.id, "kind": str(row.kind), "source_key": row.source_key,
                 "loan_id": row.loan_id, "status": str(status), "rule_id": rule_id,
                 "detail": detail, "at": now.isoformat(), **(extra or {})},
    )
    for name, value in values.items():
        set_committed_value(row, name, value)


class LostClaim(Exception):
    """Another worker took the reminder over (expired lease): this transaction rolls back."""


def _render(templates: TemplateBook, row: OutreachMessage, settings):
    return templates.render(row.template_key, lender_legal_name=settings.lender_legal_name,
                            lender_hotline=settings.lender_hotline)


# ---- 3. push --------------------------------------------------------------------------


async def push_and_record(
    sessionmaker: async_sessionmaker[AsyncSession], *, outreach_id: int, settings,
    templates: TemplateBook, wechat: WeChatApiClient | None, events: EventBus | None, now: datetime,
) -> delivery.PushResult:
    """Deliver a sent reminder and record the outcome (its own transaction after the send's)."""
    async with sessionmaker.begin() as session:
        row = await session.get(OutreachMessage, outreach_id, populate_existing=True)
        reminder = _render(templates, row, settings)
        result = await delivery.push_reminder(session, outreach=row, reminder=reminder,
                                              settings=settings, wechat=wechat, now=now)
        row.delivery, row.updated_at = result.delivery, now
        if result.attempted:
            row.attempts += 1
        if result.failed:
            await _delivery_failed(session, row, result, settings=settings, now=now)
        else:
            row.last_error = None
    delivery.announce_reminder(events, row)
    return result


async def _delivery_failed(
    session: AsyncSession, row: OutreachMessage, result: delivery.PushResult, *, settings, now: datetime
) -> None:
    retry = result.retryable and row.attempts < settings.outreach_max_attempts
    row.last_error = (result.error or "")[:500]
    if retry:  # back to the queue: re-gated, the stored message pushed again
        row.status = OutreachStatus.HELD
        row.not_before = now + timedelta(seconds=settings.outreach_retry_seconds)
        row.detail = f"渠道发送失败，第 {row.attempts} 次，稍后重试"
    else:
        row.status = OutreachStatus.FAILED
        row.detail = f"渠道发送失败 {row.attempts} 次，不再重试；提醒保留在借款人会话中"
    await audit.append(
        session, actor="system:outreach-worker", action=AuditAction.OUTREACH_DELIVERY_FAILED,
        subject=f"borrower:{row.borrower_id}",
        payload={"outreach_id": row.id, "kind": str(row.kind), "delivery": str(result.delivery),
                 "attempts": row.attempts, "error": row.last_error, "retry": retry,
                 "status": str(row.status), "at": now.isoformat()},
    )




async def record_error(
    sessionmaker: async_sessionmaker[AsyncSession], *, outreach_id: int, worker_id: str,
    error: str, now: datetime, settings,
) -> None:
    """An unexpected error while processing a claimed reminder (a bug, a database
    failure): recorded on the row and audited, never swallowed. A row still claimed by
    this worker is released — held for a retry, or failed after OUTREACH_MAX_ATTEMPTS — so
    one bad row cannot hold up the queue or fail every pass."""
    async with sessionmaker.begin() as session:
        row = await session.get(OutreachMessage, outreach_id, populate_existing=True)
        if row is None:
            return
        row.last_error, row.updated_at = error[:500], now
        if row.status == OutreachStatus.CLAIMED and row.claimed_by == worker_id:
            row.attempts += 1
            row.claimed_by = row.claim_expires_at = None
            if row.attempts < settings.outreach_max_attempts:
                row.status = OutreachStatus.HELD
                row.not_before = now + timedelta(seconds=settings.outreach_retry_seconds)
            else:
                row.status = OutreachStatus.FAILED
            row.detail = "处理提醒时发生系统错误，已记录"
        await audit.append(
            session, actor=f"system:outreach-worker:{worker_id}"[:128],
            action=AuditAction.OUTREACH_DELIVERY_FAILED, subject=f"borrower:{row.borrower_id}",
            payload={"outreach_id": row.id, "kind": str(row.kind), "error": row.last_error,
                     "attempts": row.attempts, "status": str(row.status),
                     "retry": row.status == OutreachStatus.HELD, "at": now.isoformat()},
        )


async def release_claims(session: AsyncSession, *, worker_id: str, ids: list[int], now: datetime) -> int:
    """Give claimed rows back untouched (a worker stopping mid-batch): claimable again at
    once instead of after the lease. Returns how many were released."""
    if not ids:
        return 0
    result = await session.execute(
        update(OutreachMessage)
        .where(OutreachMessage.id.in_(ids), OutreachMessage.status == OutreachStatus.CLAIMED,
               OutreachMessage.claimed_by == worker_id)
        .values(
            status=case((OutreachMessage.rule_id.is_(None), OutreachStatus.PENDING.value),
                        else_=OutreachStatus.HELD.value),
            claimed_by=None, claim_expires_at=None, updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
