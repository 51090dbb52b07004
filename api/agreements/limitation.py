"""Time-barred accounts (L2, E6; 民法典 188, 192).

After the limitation period with no activity, a borrower's new promise would waive their
defence (民法典 192), so the bot must not seek one: such loans get no online options and
go to a person for review. Activity is the latest of: the due date, a payment received,
an agreement made — each restarts or interrupts the period (民法典 195).
"""

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement
from api.loans.models import Loan, Payment


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


async def last_activity(session: AsyncSession, loan: Loan) -> date:
    paid = await session.scalar(select(func.max(Payment.paid_at)).where(Payment.loan_id == loan.id))
    agreed = await session.scalar(
        select(func.max(Agreement.created_at)).where(Agreement.loan_id == loan.id)
    )
    dates = [loan.due_date, *(moment.date() for moment in (paid, agreed) if moment is not None)]
    return max(dates)


async def is_time_barred(session: AsyncSession, loan: Loan, *, today: date, years: int) -> bool:
    return await last_activity(session, loan) < _years_before(today, years)
