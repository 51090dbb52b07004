"""Recording a payment: idempotent by the processor's reference, allocated in integer fen.

`record_payment` only flushes; the caller's transaction commits the payment, the new
balances, the schedule and the audit event together or not at all.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service as audit
from api.audit.models import AuditAction, AuditEvent
from api.loans.models import Loan, LoanStatus, Payment, ScheduleItem, ScheduleItemStatus
from api.payments.agreement_status import settle_agreement_statuses
from api.payments.allocation import (
    BALANCE_ORDER,
    BalanceAllocation,
    ItemAllocation,
    OpenItem,
    allocate_to_balances,
    allocate_to_items,
)
from api.payments.errors import LoanNotFound, Overpayment, PaymentConflict
from api.payments.locking import lock_loan

OPEN_ITEM_STATUSES = (ScheduleItemStatus.PENDING, ScheduleItemStatus.MISSED)


@dataclass(frozen=True)
class ItemOutcome:
    item_id: int
    applied_fen: int
    status: ScheduleItemStatus


@dataclass(frozen=True)
class RecordedPayment:
    payment: Payment
    created: bool  # False: the same payment was posted before and is returned as it was
    allocation: BalanceAllocation | None  # None only for a payment recorded without one
    items: list[ItemOutcome]
    loan_status: LoanStatus | None


async def record_payment(
    session: AsyncSession,
    *,
    loan_id: int,
    external_ref: str,
    amount_fen: int,
    paid_at: datetime,
    channel: str,
    actor: str,
) -> RecordedPayment:
    """Record money received against a loan, once per `external_ref`.

    The same reference with the same loan, amount, time and channel returns the payment
    recorded first (created=False); with any other data it is a PaymentConflict. Under
    concurrent identical posts the unique constraint on external_ref decides, and the
    loser returns the winner's payment. An amount above the loan's total due is refused
    (Overpayment), never absorbed.
    """
    if paid_at.tzinfo is None:
        raise ValueError("paid_at must be timezone-aware")
    paid_at = paid_at.astimezone(timezone.utc)  # as stored, so the response says what is kept
    existing = await _payment_by_ref(session, external_ref)
    if existing is not None:
        return await _replay(session, existing, loan_id, amount_fen, paid_at, channel)
    loan = await lock_loan(session, loan_id)
    if loan is None:
        raise LoanNotFound()
    # A twin request may have committed while we waited for the lock.
    existing = await _payment_by_ref(session, external_ref)
    if existing is not None:
        return await _replay(session, existing, loan_id, amount_fen, paid_at, channel)
    if amount_fen > loan.total_due_fen:
        raise Overpayment()

    payment = Payment(
        loan_id=loan_id,
        external_ref=external_ref,
        amount_fen=amount_fen,
        paid_at=paid_at,
        channel=channel,
    )
    try:
        async with session.begin_nested():
            session.add(payment)
    except IntegrityError:
        # The same reference was committed by a request for another loan (which held
        # another loan's lock): its savepoint is gone, the transaction goes on.
        existing = await _payment_by_ref(session, external_ref)
        if existing is None:
            raise
        return await _replay(session, existing, loan_id, amount_fen, paid_at, channel)

    return await _apply(session, loan=loan, payment=payment, actor=actor)


async def _apply(
    session: AsyncSession, *, loan: Loan, payment: Payment, actor: str
) -> RecordedPayment:
    """Balances, then schedule items; then the audit events, last (on PostgreSQL the
    first append takes the chain lock, held until commit): payment.recorded, then
    agreement.status_changed for an agreement this payment completed."""
    allocation = _pay_down_balances(loan, payment.amount_fen)
    items = await _pay_schedule(session, loan.id, payment.amount_fen)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.PAYMENT_RECORDED,
        subject=f"loan:{loan.id}",
        payload=_audit_payload(payment, allocation, items, loan.status),
    )
    touched_agreements = await _agreements_of(session, [i.item_id for i in items])
    await settle_agreement_statuses(session, actor=actor, agreement_ids=touched_agreements)
    return RecordedPayment(
        payment=payment, created=True, allocation=allocation, items=items, loan_status=loan.status
    )


async def _payment_by_ref(session: AsyncSession, external_ref: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.external_ref == external_ref))


def _same_payment(
    payment: Payment, loan_id: int, amount_fen: int, paid_at: datetime, channel: str
) -> bool:
    return (
        payment.loan_id == loan_id
        and payment.amount_fen == amount_fen
        and payment.paid_at == paid_at
        and payment.channel == channel
    )


async def _replay(
    session: AsyncSession,
    payment: Payment,
    loan_id: int,
    amount_fen: int,
    paid_at: datetime,
    channel: str,
) -> RecordedPayment:
    if not _same_payment(payment, loan_id, amount_fen, paid_at, channel):
        raise PaymentConflict()
    # The allocation made when the payment was recorded lives in its audit event: the
    # replay returns what happened then, not what the balances look like now.
    payload = await _recorded_payload(session, payment)
    if payload is None:
        return RecordedPayment(payment, created=False, allocation=None, items=[], loan_status=None)
    return RecordedPayment(
        payment=payment,
        created=False,
        allocation=BalanceAllocation(**payload["allocation"]),
        items=[
            ItemOutcome(item_id=i["id"], applied_fen=i["applied_fen"], status=i["status"])
            for i in payload["schedule_items"]
        ],
        loan_status=LoanStatus(payload["loan_status"]),
    )


async def _recorded_payload(session: AsyncSession, payment: Payment) -> dict | None:
    payloads = await session.scalars(
        select(AuditEvent.payload).where(
            AuditEvent.subject == f"loan:{payment.loan_id}",
            AuditEvent.action == AuditAction.PAYMENT_RECORDED,
        )
    )
    return next((p for p in payloads if p.get("payment_id") == payment.id), None)


def _pay_down_balances(loan: Loan, amount_fen: int) -> BalanceAllocation:
    balances = {name: getattr(loan, name) for name in BALANCE_ORDER}
    try:
        allocation = allocate_to_balances(amount_fen, balances)
    except ValueError as exc:  # checked above; kept as a guard for negative balances
        raise Overpayment() from exc
    loan.fees_fen -= allocation.fees_fen
    loan.penalty_interest_fen -= allocation.penalty_interest_fen
    loan.outstanding_interest_fen -= allocation.interest_fen
    loan.outstanding_principal_fen -= allocation.principal_fen
    if loan.total_due_fen == 0:
        loan.status = LoanStatus.SETTLED
    return allocation


async def _pay_schedule(session: AsyncSession, loan_id: int, amount_fen: int) -> list[ItemOutcome]:
    items = (
        await session.scalars(
            select(ScheduleItem)
            .where(ScheduleItem.loan_id == loan_id, ScheduleItem.status.in_(OPEN_ITEM_STATUSES))
            .order_by(ScheduleItem.due_date, ScheduleItem.seq, ScheduleItem.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    by_id = {item.id: item for item in items}
    applied: list[ItemAllocation] = allocate_to_items(
        amount_fen, [OpenItem(item.id, item.amount_fen - item.paid_fen) for item in items]
    )
    outcomes = []
    for part in applied:
        item = by_id[part.item_id]
        item.paid_fen += part.applied_fen
        if part.fully_paid:
            item.status = ScheduleItemStatus.PAID
        outcomes.append(ItemOutcome(item.id, part.applied_fen, ScheduleItemStatus(item.status)))
    return outcomes


async def _agreements_of(session: AsyncSession, item_ids: list[int]) -> set[int]:
    if not item_ids:
        return set()
    ids = await session.scalars(
        select(ScheduleItem.agreement_id).where(
            ScheduleItem.id.in_(item_ids), ScheduleItem.agreement_id.is_not(None)
        )
    )
    return set(ids)


def _audit_payload(
    payment: Payment, allocation: BalanceAllocation, items: list[ItemOutcome], status: str
) -> dict:
    return {
        "payment_id": payment.id,
        "external_ref": payment.external_ref,
        "amount_fen": payment.amount_fen,
        "paid_at": payment.paid_at.isoformat(),
        "channel": payment.channel,
        "allocation": {
            "fees_fen": allocation.fees_fen,
            "penalty_interest_fen": allocation.penalty_interest_fen,
            "interest_fen": allocation.interest_fen,
            "principal_fen": allocation.principal_fen,
        },
        "schedule_items": [
            {"id": i.item_id, "applied_fen": i.applied_fen, "status": i.status} for i in items
        ],
        "loan_status": status,
    }
