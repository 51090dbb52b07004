"""Promise-to-pay follow-up (issue 9): a broken promise gets exactly one follow-up
reminder and then, if it is still broken, exactly one collector task.

A promise is an agreement (部分还款 promise-to-pay, 展期, 分期, 罚息减免): it breaks at its
first missed amount (api/payments/agreement_status.py, agreement.status_changed → broken).
It is *still broken* while the agreement is broken, one of its schedule items is still
missed (not paid since, not superseded by a later agreement) and the loan is not settled.

Each pass (`reconcile_promises`, called by the outreach loop every tick):

1. Follow-up. A still-broken promise without a promise_followup reminder gets one, with
   source_key "agreement:<id>:promise_followup" (unique: never created twice, whatever
   runs at once). One per agreement, whichever of its items were missed. A follow-up the
   scheduler already made for the promise (partial payments: "schedule:<item>:
   promise_followup") counts as the one. It is due on the day after the missed date at
   OUTREACH_SEND_LOCAL_TIME, borrower-local (or now, if later); the worker's gate decides
   when it really goes (T1-T5, P3, O5, E*).
2. Kept or cured. Reminders still waiting (pending/held) for an agreement that was kept,
   superseded, or is broken but no longer still broken, are cancelled (outreach.cancelled);
   nothing else is recorded. A claimed one is left to its worker, which re-checks at send
   time.
3. Collector task. PROMISE_TASK_AFTER_DAYS after the follow-up was sent (or, if it could
   not be — blocked, failed, cancelled as stale — after that was recorded), a promise still
   broken becomes one escalation with reason broken_promise (urgency 4, the console's
   「还款承诺未履行」), audited as promise.collector_task_opened on agreement:<id>, which
   is what makes it once only.

Where the task goes, and not cutting a live chat short. An escalation belongs to a
conversation, and opening one moves that conversation from the bot to the collector
queue (bot → waiting_for_agent): the bot stops answering it. So the task:
- uses the borrower's own conversation: the one the follow-up was stored in, else the
  one the promise was made in, else where reminders would go now (delivery.resolve_target);
- waits (and is tried again next pass) while the borrower wrote in that conversation in
  the last PROMISE_TASK_IDLE_MINUTES — they may be arranging a new plan with the bot right
  now, which would mend the promise — and while a person already has the conversation
  (waiting_for_agent / agent: no second escalation, the collector sees the broken
  promise in the context anyway);
- waits while collection is off: the lender's pause flag (O5), a stop-all or an opt-out
  of that conversation's channel (T4). A collector task is the start of human contact;
- does not pause Rasa's tracker: the gateway routes by conversation state, so nothing
  reaches the bot while the task is open, and the console's hand-back resumes it (a
  resume of an unpaused tracker is harmless). No call to the outside world from this pass.

Run it in its own transaction and commit after it: it locks the loans it opens tasks
for (api/payments/locking.py, the order payments take) before its first audit event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement, AgreementStatus
from api.audit import service as audit
from api.audit.models import AuditAction, AuditEvent
from api.contact_preferences.models import ContactPreference
from api.core.config import Settings
from api.gateway.errors import IllegalTransition
from api.gateway.escalation import escalate
from api.gateway.models import Conversation, ConversationState, Message, ReasonCode, Sender
from api.loans.models import Borrower, Loan, LoanStatus, ScheduleItem, ScheduleItemStatus
from api.outreach import delivery
from api.outreach.gate import local_moment
from api.outreach.models import OutreachKind, OutreachMessage, OutreachStatus
from api.outreach.scheduler import ReminderSpec, enqueue
from api.payments.locking import lock_loan

log = logging.getLogger(__name__)

ACTOR = "system:outreach-promises"
TASK_SOURCE = "broken_promise"  # escalation.opened payload "source"
WAITING = (OutreachStatus.PENDING, OutreachStatus.HELD)  # cancellable by this pass
# The follow-up went out, or never will: the promise's clock for the collector task runs.
SETTLED_FOLLOWUP = (OutreachStatus.SENT, OutreachStatus.BLOCKED, OutreachStatus.FAILED,
                    OutreachStatus.CANCELLED)
CANCEL_DETAIL = {
    AgreementStatus.KEPT: "还款承诺已履行，提醒不再发送",
    AgreementStatus.SUPERSEDED: "还款承诺已由新的还款方案取代，提醒不再发送",
    AgreementStatus.BROKEN: "逾期款项已结清或已重新安排，跟进提醒不再发送",
}


def followup_key(agreement_id: int) -> str:
    """The one follow-up of a broken promise (unique source_key)."""
    return f"agreement:{agreement_id}:promise_followup"


def task_subject(agreement_id: int) -> str:
    return f"agreement:{agreement_id}"


@dataclass(frozen=True)
class PromiseReport:
    followups_created: int
    reminders_cancelled: int  # waiting reminders of kept / superseded / mended promises
    tasks_opened: int
    tasks_waiting: int  # still broken, task not yet due or waiting (live chat, O5, T4, no chat)
    # Conversations that just went to the collector queue: after the commit, announce them
    # on the live-update bus (api/gateway/hints.announce, queue_changed=True).
    task_conversation_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Broken:
    agreement_id: int
    loan_id: int
    borrower_id: int
    conversation_id: str | None
    kind: str
    timezone: str
    first_missed_item_id: int
    first_missed_due: date


async def reconcile_promises(session: AsyncSession, *, now: datetime, settings: Settings) -> PromiseReport:
    """One pass at `now` (see the module doc). Flush only; the caller commits."""
    broken = await _still_broken(session)
    followups = await _followups(session, [b.agreement_id for b in broken])
    due = [
        (b, followups[b.agreement_id]) for b in broken
        if b.agreement_id in followups and _task_due(followups[b.agreement_id], now=now, settings=settings)
    ]
    # Every loan lock before the first audit event (the order payments take them in).
    for loan_id in sorted({b.loan_id for b, _ in due}):
        await lock_loan(session, loan_id)
    created = await _create_followups(
        session, [b for b in broken if b.agreement_id not in followups], now=now, settings=settings
    )
    cancelled = await _cancel_obsolete(session, now=now)
    opened = []
    for b, followup in due:
        conversation_id = await _open_task(session, b, followup, now=now, settings=settings)
        if conversation_id is not None:
            opened.append(conversation_id)
    waiting = sum(1 for b in broken if b.agreement_id in followups) - len(opened)
    return PromiseReport(followups_created=len(created), reminders_cancelled=cancelled,
                         tasks_opened=len(opened), tasks_waiting=waiting, task_conversation_ids=tuple(opened))


# ---- which promises are still broken ---------------------------------------------------


def _has_task():
    return exists().where(
        AuditEvent.action == AuditAction.PROMISE_COLLECTOR_TASK_OPENED,
        AuditEvent.subject == literal("agreement:") + cast(Agreement.id, String),
    )


async def _still_broken(session: AsyncSession) -> list[_Broken]:
    """Broken agreements with an item still missed, on an unsettled loan, and no collector
    task yet (after the task there is nothing left for this pass to do)."""
    rows = (
        await session.execute(
            select(
                Agreement.id, Agreement.loan_id, Agreement.borrower_id, Agreement.conversation_id,
                Agreement.kind, Borrower.timezone, func.min(ScheduleItem.id), func.min(ScheduleItem.due_date),
            )
            .join(ScheduleItem, and_(ScheduleItem.agreement_id == Agreement.id,
                                     ScheduleItem.status == ScheduleItemStatus.MISSED))
            .join(Loan, Loan.id == Agreement.loan_id)
            .join(Borrower, Borrower.id == Agreement.borrower_id)
            .where(Agreement.status == AgreementStatus.BROKEN, Loan.status != LoanStatus.SETTLED,
                   ~_has_task())
            .group_by(Agreement.id, Agreement.loan_id, Agreement.borrower_id, Agreement.conversation_id,
                      Agreement.kind, Borrower.timezone)
            .order_by(Agreement.id)
        )
    ).all()
    return [_Broken(*row) for row in rows]


async def _followups(session: AsyncSession, agreement_ids: list[int]) -> dict[int, OutreachMessage]:
    """The (first) promise_followup reminder of each agreement, whoever created it."""
    if not agreement_ids:
        return {}
    rows = await session.scalars(
        select(OutreachMessage)
        .where(OutreachMessage.kind == OutreachKind.PROMISE_FOLLOWUP,
               OutreachMessage.agreement_id.in_(agreement_ids))
        .order_by(OutreachMessage.id)
        .execution_options(populate_existing=True)
    )
    found: dict[int, OutreachMessage] = {}
    for row in rows:
        found.setdefault(row.agreement_id, row)
    return found


# ---- 1. the one follow-up --------------------------------------------------------------


def _followup_spec(b: _Broken, *, now: datetime, settings: Settings) -> ReminderSpec:
    zone = ZoneInfo(b.timezone)
    day = b.first_missed_due + timedelta(days=settings.outreach_missed_after_days)
    due_at = max(now, local_moment(day, settings.outreach_send_local_time, zone))
    return ReminderSpec(
        borrower_id=b.borrower_id, loan_id=b.loan_id, kind=OutreachKind.PROMISE_FOLLOWUP,
        source_key=followup_key(b.agreement_id), due_at=due_at,
        schedule_item_id=b.first_missed_item_id, agreement_id=b.agreement_id,
        payload={"schedule_item_id": b.first_missed_item_id, "loan_id": b.loan_id,
                 "agreement_id": b.agreement_id, "agreement_kind": b.kind,
                 "due_date": b.first_missed_due.isoformat()},
    )


async def _create_followups(
    session: AsyncSession, broken: list[_Broken], *, now: datetime, settings: Settings
) -> list[int]:
    ids = await enqueue(session, [_followup_spec(b, now=now, settings=settings) for b in broken], now=now)
    if ids:
        await audit.append(
            session, actor=ACTOR, action=AuditAction.OUTREACH_SCHEDULED, subject="outreach",
            payload={"created": len(ids), "by_kind": {OutreachKind.PROMISE_FOLLOWUP.value: len(ids)},
                     "at": now.isoformat(), "first_id": min(ids), "last_id": max(ids)},
        )
    return ids


# ---- 2. kept, superseded or mended: nothing more to remind -----------------------------


def _mended():
    """A broken agreement with no missed item left, or its loan settled."""
    missed = exists().where(ScheduleItem.agreement_id == Agreement.id,
                            ScheduleItem.status == ScheduleItemStatus.MISSED)
    settled = exists().where(Loan.id == Agreement.loan_id, Loan.status == LoanStatus.SETTLED)
    return and_(Agreement.status == AgreementStatus.BROKEN, or_(~missed, settled))


async def _cancel_obsolete(session: AsyncSession, *, now: datetime) -> int:
    rows = (
        await session.execute(
            select(OutreachMessage.id, OutreachMessage.borrower_id, OutreachMessage.kind,
                   OutreachMessage.source_key, OutreachMessage.loan_id, Agreement.id, Agreement.status)
            .join(Agreement, Agreement.id == OutreachMessage.agreement_id)
            .where(
                OutreachMessage.status.in_(WAITING),
                or_(Agreement.status.in_([AgreementStatus.KEPT, AgreementStatus.SUPERSEDED]),
                    and_(OutreachMessage.kind == OutreachKind.PROMISE_FOLLOWUP, _mended())),
            )
            .order_by(OutreachMessage.id)
        )
    ).all()
    cancelled = 0
    for outreach_id, borrower_id, kind, key, loan_id, agreement_id, status in rows:
        detail = CANCEL_DETAIL[AgreementStatus(status)]
        result = await session.execute(
            update(OutreachMessage)
            .where(OutreachMessage.id == outreach_id, OutreachMessage.status.in_(WAITING))
            .values(status=OutreachStatus.CANCELLED, detail=detail, rule_id=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # a worker claimed it meanwhile: it re-checks at send time
            continue
        cancelled += 1
        await audit.append(
            session, actor=ACTOR, action=AuditAction.OUTREACH_CANCELLED, subject=f"borrower:{borrower_id}",
            payload={"outreach_id": outreach_id, "kind": str(kind), "source_key": key, "loan_id": loan_id,
                     "agreement_id": agreement_id, "agreement_status": str(status),
                     "status": OutreachStatus.CANCELLED.value, "rule_id": None, "detail": detail,
                     "at": now.isoformat()},
        )
    return cancelled


# ---- 3. the one collector task ---------------------------------------------------------


def _task_due(followup: OutreachMessage, *, now: datetime, settings: Settings) -> bool:
    if followup.status not in SETTLED_FOLLOWUP:
        return False  # still to be sent: the borrower hears from us first
    since = followup.sent_at if followup.status == OutreachStatus.SENT and followup.sent_at else followup.updated_at
    return now >= since + timedelta(days=settings.promise_task_after_days)


async def _open_task(
    session: AsyncSession, b: _Broken, followup: OutreachMessage, *, now: datetime, settings: Settings
) -> str | None:
    """The conversation the task was opened in now; None when it waits for a later pass."""
    if await session.scalar(select(_has_task_for(b.agreement_id))):
        return None  # another worker opened it while we waited for the loan lock
    if not await _still_broken_now(session, b.agreement_id):
        return None
    why_not = await _collection_off(session, b)
    conversation = None if why_not else await _task_conversation(session, b, followup)
    if why_not is None and conversation is None:
        why_not = "no open conversation of the borrower"
    if why_not is None:
        why_not = await _busy(session, conversation, now=now, settings=settings)
    if why_not is not None:
        log.info("collector task for agreement %s waits: %s", b.agreement_id, why_not)
        return None
    note = (f"promise broken: agreement {b.agreement_id} ({b.kind}), first missed {b.first_missed_due}; "
            f"follow-up reminder {followup.id} {followup.status}")
    try:
        escalated = await escalate(session, conversation_id=conversation.id, reason=ReasonCode.BROKEN_PROMISE,
                                   note=note, actor=ACTOR, source=TASK_SOURCE)
    except IllegalTransition:  # closed or taken by a person meanwhile: next pass
        return None
    await audit.append(
        session, actor=ACTOR, action=AuditAction.PROMISE_COLLECTOR_TASK_OPENED,
        subject=task_subject(b.agreement_id),
        payload={"escalation_id": escalated.escalation.id, "conversation_id": conversation.id,
                 "loan_id": b.loan_id, "borrower_id": b.borrower_id, "followup_id": followup.id,
                 "followup_status": str(followup.status), "at": now.isoformat()},
    )
    return conversation.id


def _has_task_for(agreement_id: int):
    return exists().where(AuditEvent.action == AuditAction.PROMISE_COLLECTOR_TASK_OPENED,
                          AuditEvent.subject == task_subject(agreement_id))


async def _still_broken_now(session: AsyncSession, agreement_id: int) -> bool:
    """Re-read under the loan lock: a payment may have mended it since the pass began."""
    status = await session.scalar(select(Agreement.status).where(Agreement.id == agreement_id))
    missed = await session.scalar(select(exists().where(
        ScheduleItem.agreement_id == agreement_id, ScheduleItem.status == ScheduleItemStatus.MISSED)))
    return status == AgreementStatus.BROKEN and bool(missed)


async def _collection_off(session: AsyncSession, b: _Broken) -> str | None:
    loan = await session.get(Loan, b.loan_id)
    if loan.collection_paused:
        return "lender paused collection (O5)"
    preference = await session.get(ContactPreference, b.borrower_id, populate_existing=True)
    if preference is not None and preference.stop_all:
        return "borrower asked to stop all contact (T4)"
    return None


async def _task_conversation(
    session: AsyncSession, b: _Broken, followup: OutreachMessage
) -> Conversation | None:
    """The borrower's own open conversation the task belongs in (see the module doc)."""
    for conversation_id in (followup.conversation_id, b.conversation_id):
        conversation = await _open_own(session, conversation_id, b.borrower_id)
        if conversation is not None:
            return conversation
    borrower = await session.get(Borrower, b.borrower_id)
    target = await delivery.resolve_target(session, borrower)
    return await _open_own(session, target.conversation_id, b.borrower_id)


async def _open_own(session: AsyncSession, conversation_id: str | None, borrower_id: int) -> Conversation | None:
    if conversation_id is None:
        return None
    conversation = await session.get(Conversation, conversation_id, populate_existing=True)
    if conversation is None or conversation.state == ConversationState.CLOSED:
        return None
    return conversation if conversation.borrower_id == borrower_id else None


async def _busy(
    session: AsyncSession, conversation: Conversation, *, now: datetime, settings: Settings
) -> str | None:
    if conversation.state != ConversationState.BOT:
        return f"a person already has the conversation ({conversation.state})"
    preference = await session.get(ContactPreference, conversation.borrower_id)
    if preference is not None and str(conversation.channel) in (preference.opted_out_channels or ()):
        return f"borrower switched {conversation.channel} off (T4)"
    last = await session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id == conversation.id, Message.sender == Sender.BORROWER)
    )
    if last is not None and now - last < timedelta(minutes=settings.promise_task_idle_minutes):
        return "the borrower is chatting with the bot right now"
    return None

