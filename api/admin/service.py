"""Creating a borrower and their loans from the lender's records (admin import).

The ID number is reduced to an HMAC (to recognise the same person later) and its last
four characters (for identity verification, P4); the phone number to its masked form.
Neither is stored, logged or audited in full. Flush only.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import false, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.errors import BorrowerExists, ContractNoTaken, InvalidBorrowerData
from api.admin.identity_docs import mask_mobile, normalise_mobile, parse_id_number
from api.audit import service as audit
from api.audit.models import AuditAction
from api.core.security import id_number_hash
from api.loans.models import Borrower, Loan, LoanStatus, ScheduleItem, ScheduleItemStatus


@dataclass(frozen=True)
class NewScheduleItem:
    due_date: date
    amount_fen: int


@dataclass(frozen=True)
class NewLoan:
    contract_no: str
    product_name: str
    principal_fen: int
    contract_rate_bp: int
    contract_date: date
    due_date: date
    outstanding_principal_fen: int
    outstanding_interest_fen: int
    penalty_interest_fen: int
    fees_fen: int
    status: LoanStatus
    # None: one item, the whole amount due on the due date.
    schedule: Sequence[NewScheduleItem] | None = field(default=None)

    @property
    def total_due_fen(self) -> int:
        return (
            self.outstanding_principal_fen
            + self.outstanding_interest_fen
            + self.penalty_interest_fen
            + self.fees_fen
        )


async def create_borrower(
    session: AsyncSession,
    *,
    full_name: str,
    id_number: str,
    birth_date: date,
    phone: str,
    timezone: str,
    loans: Sequence[NewLoan],
    id_hash_salt: str,
    actor: str,
    today: date,
) -> Borrower:
    parsed = parse_id_number(id_number, today=today)
    if parsed is None:
        raise InvalidBorrowerData(InvalidBorrowerData.ID_NUMBER)
    if parsed.birth_date != birth_date:
        raise InvalidBorrowerData(InvalidBorrowerData.BIRTH_DATE)
    mobile = normalise_mobile(phone)
    if mobile is None:
        raise InvalidBorrowerData(InvalidBorrowerData.PHONE)
    digest = id_number_hash(parsed.normalised, salt=id_hash_salt)
    await _begin_write(session)
    await _refuse_duplicates(session, digest, [loan.contract_no for loan in loans])

    borrower = Borrower(
        full_name=full_name,
        id_number_hash=digest,
        id_last4=parsed.last4,
        birth_date=birth_date,
        phone_masked=mask_mobile(mobile),
        timezone=timezone,
    )
    for spec in loans:
        borrower.loans.append(_loan(spec))
    try:
        async with session.begin_nested():
            session.add(borrower)
    except IntegrityError:
        # A concurrent import of the same person or contract committed first.
        await _refuse_duplicates(session, digest, [loan.contract_no for loan in loans])
        raise
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.BORROWER_CREATED,
        subject=f"borrower:{borrower.id}",
        payload={
            "borrower_id": borrower.id,
            "id_last4": borrower.id_last4,
            "loan_ids": [loan.id for loan in borrower.loans],
        },
    )
    return borrower


async def _begin_write(session: AsyncSession) -> None:
    """Start the write transaction before the duplicate checks.

    SQLite: the driver emits BEGIN only before a write, so without this the checks run
    outside any transaction, and the SAVEPOINT below would open one that its RELEASE
    commits on the spot. A write touching no rows begins the transaction and takes the
    write lock, so a concurrent import waits and then sees this one. PostgreSQL: a no-op;
    there the unique constraints and the savepoint settle a race.
    """
    await session.execute(
        update(Borrower)
        .where(false())
        .values(timezone=Borrower.timezone)
        .execution_options(synchronize_session=False)
    )


async def _refuse_duplicates(session: AsyncSession, digest: str, contract_nos: list[str]) -> None:
    if await session.scalar(select(Borrower.id).where(Borrower.id_number_hash == digest)):
        raise BorrowerExists()
    taken = await session.scalar(select(Loan.id).where(Loan.contract_no.in_(contract_nos)).limit(1))
    if taken is not None:
        raise ContractNoTaken()


def _loan(spec: NewLoan) -> Loan:
    loan = Loan(
        contract_no=spec.contract_no,
        product_name=spec.product_name,
        principal_fen=spec.principal_fen,
        contract_rate_bp=spec.contract_rate_bp,
        contract_date=spec.contract_date,
        due_date=spec.due_date,
        outstanding_principal_fen=spec.outstanding_principal_fen,
        outstanding_interest_fen=spec.outstanding_interest_fen,
        penalty_interest_fen=spec.penalty_interest_fen,
        fees_fen=spec.fees_fen,
        status=spec.status,
        collection_paused=False,
    )
    items = spec.schedule
    if items is None:
        items = [NewScheduleItem(spec.due_date, spec.total_due_fen)] if spec.total_due_fen else []
    # Items start pending; the daily reconciliation marks the overdue ones missed
    # (and audits it), as for any other schedule.
    for seq, item in enumerate(sorted(items, key=lambda i: i.due_date), start=1):
        loan.schedule.append(
            ScheduleItem(
                seq=seq,
                due_date=item.due_date,
                amount_fen=item.amount_fen,
                paid_fen=0,
                status=ScheduleItemStatus.PENDING,
            )
        )
    return loan
