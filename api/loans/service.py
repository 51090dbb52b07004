"""What a borrower owes, computed from the loan records (never in the bot)."""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.loans.models import Borrower, Loan, LoanStatus


@dataclass(frozen=True)
class LoanDue:
    loan: Loan
    days_past_due: int


@dataclass(frozen=True)
class AmountDue:
    loans: list[LoanDue]

    @property
    def total_due_fen(self) -> int:
        return sum(d.loan.total_due_fen for d in self.loans)


async def loans_due(
    session: AsyncSession, *, borrower_id: int, today: date
) -> list[LoanDue]:
    loans = (
        await session.scalars(
            select(Loan)
            .where(Loan.borrower_id == borrower_id, Loan.status != LoanStatus.SETTLED)
            .order_by(Loan.due_date, Loan.id)
        )
    ).all()
    return [
        LoanDue(loan=loan, days_past_due=max(0, (today - loan.due_date).days))
        for loan in loans
        if loan.total_due_fen > 0
    ]


async def amount_due(session: AsyncSession, *, borrower: Borrower) -> AmountDue:
    """Every unsettled loan with its days past due, counted in the borrower's own zone."""
    today = datetime.now(ZoneInfo(borrower.timezone)).date()
    return AmountDue(loans=await loans_due(session, borrower_id=borrower.id, today=today))
