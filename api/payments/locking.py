"""Serialise writers of one loan's balances and schedule (payments, reconciliation)."""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.loans.models import Loan


async def lock_loan(session: AsyncSession, loan_id: int) -> Loan | None:
    """Lock the loan row until the transaction ends and return it freshly read, or None
    if there is no such loan.

    A no-op UPDATE does it on both backends: on PostgreSQL it takes the row lock (a
    concurrent writer waits, then the SELECT below sees what it committed); on SQLite it
    starts the write transaction, taking the database's single write lock (waiting up to
    busy_timeout) before anything is read, so no other writer can interleave — the same
    technique as the audit chain lock.
    """
    result = await session.execute(
        update(Loan)
        .where(Loan.id == loan_id)
        .values(status=Loan.status)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        return None
    return await session.get(Loan, loan_id, populate_existing=True)
