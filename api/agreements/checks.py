"""Checks a stored quote must pass before it is shown as binding or accepted."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.context import BorrowerContext, current_policy
from api.agreements.errors import (
    CollectionPausedForLoan,
    QuoteExpired,
    QuoteNotFound,
    QuotePolicyChanged,
    QuoteStale,
    QuoteTampered,
)
from api.agreements.models import Quote
from api.agreements.terms import terms_hash
from api.audit.models import AuditAction, AuditEvent
from api.loans.models import Loan
from api.offers.errors import PolicyNotFound


def quote_subject(quote_id: str) -> str:
    return f"quote:{quote_id}"


async def owned_quote(session: AsyncSession, context: BorrowerContext, quote_id: str) -> Quote:
    """The quote, if it was made in this conversation for its verified borrower.

    Anyone else's quote is "not found", exactly like a quote that does not exist."""
    quote = await session.get(Quote, quote_id)
    if (
        quote is None
        or quote.conversation_id != context.conversation.id
        or quote.borrower_id != context.borrower.id
    ):
        raise QuoteNotFound()
    return quote


# Columns that repeat a value of the terms: an edit to either side is tampering.
_BOUND_COLUMNS = (
    "kind",
    "policy_version",
    "loan_id",
    "borrower_id",
    "conversation_id",
    "total_repayable_fen",
    "annual_cost_bp",
)


async def ensure_untampered(session: AsyncSession, quote: Quote) -> None:
    """The terms still hash to the stored hash, the row's columns agree with the terms,
    and the hash is the one the quote.created audit event recorded (so rewriting terms
    and hash together is caught as well; the audit chain itself is verified by A2)."""
    terms = quote.terms if isinstance(quote.terms, dict) else {}
    if terms_hash(terms) != quote.terms_hash:
        raise QuoteTampered()
    if any(terms.get(column) != getattr(quote, column) for column in _BOUND_COLUMNS):
        raise QuoteTampered()
    audited = (
        await session.scalars(
            select(AuditEvent.payload).where(
                AuditEvent.subject == quote_subject(quote.id),
                AuditEvent.action == AuditAction.QUOTE_CREATED,
            )
        )
    ).all()
    if [payload.get("terms_hash") for payload in audited] != [quote.terms_hash]:
        raise QuoteTampered()


def ensure_not_expired(quote: Quote, *, now: datetime) -> None:
    if now >= quote.expires_at:
        raise QuoteExpired()


def ensure_current_policy(quote: Quote, *, product_name: str) -> None:
    try:
        version = current_policy(product_name).version
    except PolicyNotFound:
        raise QuotePolicyChanged() from None
    if version != quote.policy_version:
        raise QuotePolicyChanged()


def ensure_loan_unchanged(loan: Loan, quote: Quote) -> None:
    """Nothing binds on a paused loan (O5), nor on balances other than those quoted."""
    if loan.collection_paused:
        raise CollectionPausedForLoan()
    if loan.total_due_fen != quote.terms["position"]["total_due_fen"]:
        raise QuoteStale()
