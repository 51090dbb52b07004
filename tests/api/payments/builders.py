"""Builders for borrowers, loans, schedules and agreements (committed, so the app's own
sessions see them). Shared by the payments, contact-preference and admin tests."""

import itertools
import uuid
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement, AgreementStatus, Quote, QuoteStatus
from api.core.db import utcnow
from api.loans.models import Borrower, Loan, LoanStatus, ScheduleItem, ScheduleItemStatus

_numbers = itertools.count(1)


async def make_borrower(
    session: AsyncSession, *, full_name: str = "王芳", timezone: str = "Asia/Shanghai"
) -> Borrower:
    n = next(_numbers)
    borrower = Borrower(
        full_name=full_name,
        id_number_hash=f"hash-{uuid.uuid4().hex}",
        id_last4=f"{n % 10_000:04d}",
        birth_date=date(1988, 1, 1),
        phone_masked="137****0000",
        timezone=timezone,
    )
    session.add(borrower)
    await session.commit()
    return borrower


async def make_loan(
    session: AsyncSession,
    *,
    borrower: Borrower | None = None,
    principal_fen: int = 100_000,
    interest_fen: int = 5_000,
    penalty_interest_fen: int = 2_000,
    fees_fen: int = 1_000,
    due_date: date = date(2026, 1, 31),
    status: LoanStatus = LoanStatus.OVERDUE,
    collection_paused: bool = False,
    schedule: list[tuple[date, int]] | None = None,
    schedule_status: ScheduleItemStatus = ScheduleItemStatus.PENDING,
) -> Loan:
    """`schedule`: (due date, amount) items; by default none."""
    borrower = borrower or await make_borrower(session)
    loan = Loan(
        borrower_id=borrower.id,
        contract_no=f"T-{uuid.uuid4().hex[:12]}",
        product_name="测试信用贷",
        principal_fen=principal_fen,
        contract_rate_bp=1_800,
        contract_date=due_date - timedelta(days=180),
        due_date=due_date,
        outstanding_principal_fen=principal_fen,
        outstanding_interest_fen=interest_fen,
        penalty_interest_fen=penalty_interest_fen,
        fees_fen=fees_fen,
        status=status,
        collection_paused=collection_paused,
    )
    session.add(loan)
    await session.flush()
    for seq, (item_date, amount) in enumerate(schedule or [], start=1):
        session.add(
            ScheduleItem(
                loan_id=loan.id, seq=seq, due_date=item_date, amount_fen=amount,
                paid_fen=0, status=schedule_status,
            )
        )
    await session.commit()
    return loan


async def make_agreement(
    session: AsyncSession, *, loan: Loan, items: list[tuple[date, int]]
) -> Agreement:
    """An active agreement on `loan` with its own pending schedule items."""
    quote = Quote(
        id=str(uuid.uuid4()),
        borrower_id=loan.borrower_id,
        loan_id=loan.id,
        kind="instalments",
        policy_version="test",
        terms={},
        terms_hash="0" * 64,
        total_repayable_fen=sum(amount for _, amount in items),
        annual_cost_bp=1_800,
        status=QuoteStatus.ACCEPTED,
        expires_at=utcnow() + timedelta(minutes=30),
    )
    session.add(quote)
    await session.flush()
    agreement = Agreement(
        quote_id=quote.id,
        idempotency_key=str(uuid.uuid4()),
        borrower_id=loan.borrower_id,
        loan_id=loan.id,
        kind="instalments",
        policy_version="test",
        terms={},
        terms_hash="0" * 64,
        summary_text="测试协议",
        consent_text="确认",
        channel="web",
        status=AgreementStatus.ACTIVE,
        first_due_date=items[0][0],
    )
    session.add(agreement)
    await session.flush()
    for seq, (item_date, amount) in enumerate(items, start=1):
        session.add(
            ScheduleItem(
                loan_id=loan.id, agreement_id=agreement.id, seq=seq, due_date=item_date,
                amount_fen=amount, paid_fen=0, status=ScheduleItemStatus.PENDING,
            )
        )
    await session.commit()
    return agreement
