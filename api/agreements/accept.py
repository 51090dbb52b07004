"""Accepting a quote (D3): the borrower's explicit "确认" turns a quote into an agreement.

One quote becomes at most one agreement, whatever the concurrency:

1. Every acceptance for a loan first takes that loan's write lock — PostgreSQL: the row
   lock `SELECT … FOR NO KEY UPDATE`; SQLite: a no-op UPDATE of the row, which takes the
   database's single write lock (waiting up to busy_timeout) and opens the transaction, so
   every read after it sees the latest commit. Accepts of one loan therefore run one
   after another, each seeing what the previous one committed (READ COMMITTED on PG).
2. The winner is decided by a conditional `UPDATE quotes SET status='accepted' WHERE
   id=? AND status='open' AND expires_at > now`: rowcount 1 wins, 0 loses (then the
   quote is re-read to answer with the idempotent replay, 409 or 410).
3. The unique constraints on agreements.quote_id and agreements.idempotency_key are the
   backstop: a duplicate insert becomes 409, never a second agreement or a 500.

Everything — quote status, agreement, withdrawn sibling quotes, superseded schedule,
new schedule items, audit event — is flushed into the request's one transaction, which
the session dependency commits or rolls back as a whole.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.checks import (
    ensure_current_policy,
    ensure_loan_unchanged,
    ensure_not_expired,
    ensure_untampered,
    owned_quote,
)
from api.agreements.context import BorrowerContext, verified_context
from api.agreements.errors import (
    ConsentMessageInvalid,
    IdempotencyKeyReused,
    QuoteAlreadyAccepted,
    QuoteExpired,
    QuoteWithdrawn,
)
from api.agreements.models import Agreement, AgreementStatus, Quote, QuoteStatus
from api.agreements.summary import render_summary
from api.agreements.terms import text_sha256
from api.audit import service as audit
from api.audit.models import AuditAction
from api.core.db import utcnow
from api.core.metrics import AGREEMENTS, count_on_commit
from api.gateway.models import Message, Sender
from api.loans.models import Loan, ScheduleItem, ScheduleItemStatus

CONSENT_TEXT = "确认"  # D3: the one explicit act accepted in chat


def agreement_no(agreement: Agreement) -> str:
    """The number a borrower and staff quote: stable, derived from the row."""
    return f"AG-{agreement.created_at:%Y%m%d}-{agreement.id:06d}"


@dataclass(frozen=True)
class Acceptance:
    agreement: Agreement
    replayed: bool  # True: this Idempotency-Key already accepted this quote


async def accept_quote(
    session: AsyncSession,
    *,
    conversation_id: str,
    quote_id: str,
    idempotency_key: str,
    consent_text: str,
    consent_message_id: int | None = None,
    now: datetime | None = None,
) -> Acceptance:
    if consent_text.strip() != CONSENT_TEXT:  # the schema refuses it first; never rely on it
        raise ValueError("consent must be the explicit act 确认")
    context = await verified_context(session, conversation_id=conversation_id, now=now or utcnow())
    quote = await owned_quote(session, context, quote_id)
    await ensure_untampered(session, quote)
    if quote.status != QuoteStatus.OPEN:
        return await _settled(session, quote, quote.status, idempotency_key=idempotency_key)
    await _ensure_key_unused(session, idempotency_key)
    ensure_not_expired(quote, now=context.now)
    ensure_current_policy(quote, product_name=quote.terms["product_name"])
    await _ensure_consent_message(session, context, consent_message_id)
    loan = await _lock_loan(session, quote.loan_id)  # from here on, one accept per loan
    ensure_loan_unchanged(loan, quote)
    if not await _claim(session, quote, now=context.now):
        status = await session.scalar(select(Quote.status).where(Quote.id == quote.id))
        if status == QuoteStatus.OPEN:  # still open: the claim failed on expiry
            raise QuoteExpired()
        return await _settled(session, quote, status, idempotency_key=idempotency_key)
    agreement = await _insert_agreement(
        session, context, quote, idempotency_key=idempotency_key,
        consent_message_id=consent_message_id,
    )
    superseded_items = await _replace_schedule(session, loan=loan, agreement=agreement)
    await _withdraw_siblings(session, quote)
    actor = f"borrower-session:{context.conversation.id}"
    await _supersede_agreements(session, agreement, actor=actor)
    await _audit_created(session, agreement, actor=actor, superseded_items=superseded_items)
    count_on_commit(session, AGREEMENTS.labels(kind=agreement.kind).inc)  # replays count once
    return Acceptance(agreement=agreement, replayed=False)


async def _settled(
    session: AsyncSession, quote: Quote, status: str, *, idempotency_key: str
) -> Acceptance:
    """A quote no longer open: the key that accepted it replays its agreement (200);
    anything else is refused."""
    if status == QuoteStatus.WITHDRAWN:
        raise QuoteWithdrawn()
    agreement = await session.scalar(select(Agreement).where(Agreement.quote_id == quote.id))
    if agreement is not None and agreement.idempotency_key == idempotency_key:
        return Acceptance(agreement=agreement, replayed=True)
    raise QuoteAlreadyAccepted()


async def _ensure_key_unused(session: AsyncSession, idempotency_key: str) -> None:
    used = await session.scalar(
        select(Agreement.id).where(Agreement.idempotency_key == idempotency_key)
    )
    if used is not None:  # the key already accepted another quote
        raise IdempotencyKeyReused()


async def _lock_loan(session: AsyncSession, loan_id: int) -> Loan:
    """Serialise acceptances for one loan and return its freshly read row (see module doc)."""
    if (await session.connection()).dialect.name == "sqlite":
        await session.execute(
            update(Loan)
            .where(Loan.id == loan_id)
            .values(collection_paused=Loan.collection_paused)
            .execution_options(synchronize_session=False)
        )
    return (
        await session.execute(
            select(Loan)
            .where(Loan.id == loan_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def _ensure_consent_message(
    session: AsyncSession, context: BorrowerContext, message_id: int | None
) -> None:
    """The transcript message cited as consent must be the borrower's "确认" in this chat."""
    if message_id is None:
        return
    message = await session.get(Message, message_id)
    if (
        message is None
        or message.conversation_id != context.conversation.id
        or message.sender != Sender.BORROWER
        or message.text.strip() != CONSENT_TEXT
    ):
        raise ConsentMessageInvalid()


async def _claim(session: AsyncSession, quote: Quote, *, now: datetime) -> bool:
    result = await session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.status == QuoteStatus.OPEN, Quote.expires_at > now)
        .values(status=QuoteStatus.ACCEPTED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def _insert_agreement(
    session: AsyncSession,
    context: BorrowerContext,
    quote: Quote,
    *,
    idempotency_key: str,
    consent_message_id: int | None,
) -> Agreement:
    agreement = Agreement(
        quote_id=quote.id,
        idempotency_key=idempotency_key,
        borrower_id=quote.borrower_id,
        loan_id=quote.loan_id,
        kind=quote.kind,
        policy_version=quote.policy_version,
        terms=quote.terms,
        terms_hash=quote.terms_hash,
        summary_text=render_summary(quote.terms),
        consent_text=CONSENT_TEXT,
        consent_message_id=consent_message_id,
        channel=context.conversation.channel,
        conversation_id=context.conversation.id,
        status=AgreementStatus.ACTIVE,
        first_due_date=date.fromisoformat(quote.terms["schedule"][0]["due_date"]),
        created_at=context.now,
    )
    session.add(agreement)
    try:
        await session.flush()
    except IntegrityError as exc:  # the backstop: only reachable if the lock were bypassed
        if "idempotency_key" in str(exc.orig):
            raise IdempotencyKeyReused() from None
        raise QuoteAlreadyAccepted() from None
    return agreement


async def _replace_schedule(session: AsyncSession, *, loan: Loan, agreement: Agreement) -> int:
    """Supersede the loan's open items (pending and missed) and add the agreed ones."""
    superseded = await session.execute(
        update(ScheduleItem)
        .where(
            ScheduleItem.loan_id == loan.id,
            ScheduleItem.status.in_([ScheduleItemStatus.PENDING, ScheduleItemStatus.MISSED]),
        )
        .values(status=ScheduleItemStatus.SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    last_seq = await session.scalar(
        select(func.coalesce(func.max(ScheduleItem.seq), 0)).where(ScheduleItem.loan_id == loan.id)
    )
    session.add_all(
        ScheduleItem(
            loan_id=loan.id,
            agreement_id=agreement.id,
            seq=last_seq + item["number"],
            due_date=date.fromisoformat(item["due_date"]),
            amount_fen=item["amount_fen"],
            paid_fen=0,
            status=ScheduleItemStatus.PENDING,
        )
        for item in agreement.terms["schedule"]
    )
    await session.flush()
    return superseded.rowcount


async def _withdraw_siblings(session: AsyncSession, quote: Quote) -> None:
    """Other open quotes for the loan were priced for the arrangement just replaced."""
    await session.execute(
        update(Quote)
        .where(Quote.loan_id == quote.loan_id, Quote.status == QuoteStatus.OPEN)
        .values(status=QuoteStatus.WITHDRAWN)
        .execution_options(synchronize_session=False)
    )


async def _supersede_agreements(session: AsyncSession, agreement: Agreement, *, actor: str) -> None:
    """An earlier active agreement on the loan is replaced by this one (its open items
    were superseded with the rest of the schedule). Compare-and-set, like the payment
    jobs that move agreements to kept/broken: whoever still finds it active records it."""
    replaced = (
        await session.scalars(
            select(Agreement.id).where(
                Agreement.loan_id == agreement.loan_id,
                Agreement.status == AgreementStatus.ACTIVE,
                Agreement.id != agreement.id,
            )
        )
    ).all()
    for old_id in replaced:
        result = await session.execute(
            update(Agreement)
            .where(Agreement.id == old_id, Agreement.status == AgreementStatus.ACTIVE)
            .values(status=AgreementStatus.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        await audit.append(
            session, actor=actor, action=AuditAction.AGREEMENT_STATUS_CHANGED,
            subject=f"agreement:{old_id}",
            payload={"loan_id": agreement.loan_id, "from": AgreementStatus.ACTIVE.value,
                     "to": AgreementStatus.SUPERSEDED.value, "by_agreement_id": agreement.id},
        )


async def _audit_created(
    session: AsyncSession, agreement: Agreement, *, actor: str, superseded_items: int
) -> None:
    terms = agreement.terms
    await audit.append(
        session, actor=actor, action=AuditAction.AGREEMENT_CREATED,
        subject=f"agreement:{agreement.id}",
        payload={
            "agreement_id": agreement.id,
            "agreement_no": agreement_no(agreement),
            "quote_id": agreement.quote_id,
            "loan_id": agreement.loan_id,
            "kind": agreement.kind,
            "policy_version": agreement.policy_version,
            "terms_hash": agreement.terms_hash,
            "summary_sha256": text_sha256(agreement.summary_text),
            "total_repayable_fen": terms["total_repayable_fen"],
            "annual_cost_bp": terms["annual_cost_bp"],
            "flagged_above_lpr_multiple": terms["flagged_above_lpr_multiple"],
            "first_due_date": agreement.first_due_date.isoformat(),
            "instalments": len(terms["schedule"]),
            "superseded_schedule_items": superseded_items,
            "consent_message_id": agreement.consent_message_id,
            "channel": agreement.channel,
            "conversation_id": agreement.conversation_id,
        },
    )
