"""Who is asking and about which loan: the verified borrower behind a conversation (P4),
the loan to quote, the borrower's today, and the product's current policy."""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.errors import LoanNotFound, LoanNotSpecified
from api.core.errors import ConversationNotFound, IdentityNotVerified
from api.gateway.models import Conversation
from api.loans.models import Borrower, Loan, LoanStatus
from api.loans.service import loans_due
from api.offers import Policy
from api.offers import policy as offers_policy


@dataclass(frozen=True)
class BorrowerContext:
    conversation: Conversation
    borrower: Borrower
    now: datetime  # UTC
    today: date  # in the borrower's own time zone


async def verified_context(
    session: AsyncSession, *, conversation_id: str, now: datetime
) -> BorrowerContext:
    """The conversation's verified borrower; nothing about a debt before that (P4)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    if conversation.borrower_id is None or conversation.verified_at is None:
        raise IdentityNotVerified()
    borrower = await session.get(Borrower, conversation.borrower_id)
    if borrower is None:  # the foreign key makes this a broken database, not a client error
        raise RuntimeError(f"conversation {conversation.id} bound to a missing borrower")
    today = now.astimezone(ZoneInfo(borrower.timezone)).date()
    return BorrowerContext(conversation=conversation, borrower=borrower, now=now, today=today)


async def quotable_loan(
    session: AsyncSession, *, borrower_id: int, today: date, contract_no: str | None
) -> Loan:
    """The named loan of this borrower, or their only loan with something due.

    A contract number of someone else's loan is simply "not found" (P4)."""
    if contract_no is not None:
        loan = await session.scalar(
            select(Loan).where(
                Loan.borrower_id == borrower_id,
                Loan.contract_no == contract_no,
                Loan.status != LoanStatus.SETTLED,
            )
        )
        if loan is None:
            raise LoanNotFound()
        return loan
    dues = await loans_due(session, borrower_id=borrower_id, today=today)
    if not dues:
        raise LoanNotFound()
    if len(dues) > 1:
        raise LoanNotSpecified()
    return dues[0].loan


def current_policy(product_name: str) -> Policy:
    """The product's policy as the file stands now (read at call time, so a quote is
    checked against the policy in force when it is accepted). Raises PolicyNotFound."""
    return offers_policy.policy_for_product(product_name, directory=offers_policy.POLICY_DIR)
