"""Staff-facing outreach operations: the outreach log of a borrower, and the lender's
pause flag (O5). Flush only; the request's session commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service as audit
from api.audit.models import AuditAction
from api.loans.models import Borrower, Loan
from api.outreach.errors import BorrowerNotFound, LoanNotFound
from api.outreach.models import OutreachMessage

LOG_LIMIT_MAX = 500


async def borrower_outreach(
    session: AsyncSession, *, borrower_id: int, limit: int = 100
) -> list[OutreachMessage]:
    """A borrower's reminders, newest first: what was sent, held or blocked, and why."""
    if await session.get(Borrower, borrower_id) is None:
        raise BorrowerNotFound()
    rows = await session.scalars(
        select(OutreachMessage)
        .where(OutreachMessage.borrower_id == borrower_id)
        .order_by(OutreachMessage.due_at.desc(), OutreachMessage.id.desc())
        .limit(min(limit, LOG_LIMIT_MAX))
    )
    return list(rows)


async def set_collection_pause(
    session: AsyncSession, *, loan_id: int, paused: bool, reason: str, actor: str, now: datetime
) -> Loan:
    """Set or lift the lender's breathing-space flag (O5), audited with its reason.

    Takes the borrower's lock first, like the outreach worker's send transaction, so a
    reminder being sent either committed before the pause or sees it and is blocked.
    """
    loan = await session.get(Loan, loan_id)
    if loan is None:
        raise LoanNotFound()
    await session.execute(
        update(Borrower)
        .where(Borrower.id == loan.borrower_id)
        .values(timezone=Borrower.timezone)
        .execution_options(synchronize_session=False)
    )
    loan = await session.get(Loan, loan_id, populate_existing=True)
    if loan.collection_paused == paused:
        return loan
    loan.collection_paused = paused
    await session.flush()
    await audit.append(
        session, actor=actor, action=AuditAction.LOAN_COLLECTION_PAUSE_CHANGED,
        subject=f"loan:{loan_id}",
        payload={"loan_id": loan_id, "borrower_id": loan.borrower_id, "paused": paused,
                 "reason": reason, "at": now.isoformat()},
    )
    return loan
