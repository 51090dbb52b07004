"""What a borrower owes, computed from the loan records (never in the bot)."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.loans.models import Loan, LoanStatus


@dataclass(frozen=True)
class LoanDue:
    loan: Loan
    days_past_due: int


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
