"""Quotes (O1–O5, D2, D3): a verified borrower's options, priced by the policy engine and
stored as short-lived quotes bound to borrower, loan, conversation and policy version.

Eligible options become quotes; refused ones come back with a reason code, the Chinese
reason and a human-review path (D2), never as quotes. A paused loan (O5) gets nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.checks import (
    ensure_current_policy,
    ensure_loan_unchanged,
    ensure_not_expired,
    ensure_untampered,
    owned_quote,
    quote_subject,
)
from api.agreements.context import current_policy, quotable_loan, verified_context
from api.agreements.errors import QuoteWithdrawn
from api.agreements.limitation import is_time_barred
from api.agreements.models import Quote, QuoteStatus
from api.agreements.summary import render_summary
from api.agreements.terms import largest_amount_fen, option_terms, terms_hash
from api.agreements.texts import reason_text
from api.audit import service as audit
from api.audit.models import AuditAction
from api.core.db import utcnow
from api.loans.models import Loan
from api.offers import (
    CounterOutcome,
    HardshipReason,
    LoanPosition,
    OptionKind,
    counter_offer,
    options_for,
)
from api.offers.results import Option

QUOTE_ACTOR = "service:actions"
COLLECTION_PAUSED = "collection_paused"
TIME_BARRED = "time_barred"
PLAN_ABOVE_STATED_AMOUNT = "plan_above_stated_amount"


@dataclass(frozen=True)
class Refusal:
    """A reason with its Chinese text; `human_review` is the D2 path to a person."""

    reason_code: str
    reason_text: str
    human_review: bool = True


@dataclass(frozen=True)
class QuoteSet:
    loan: Loan
    as_of: date
    policy_version: str | None  # None when no policy was consulted (paused loan)
    quotes: list[Quote]
    refused: list[Option]  # ineligible options, each with reason and human path
    blocked: Refusal | None  # set when the loan gets no options at all


@dataclass(frozen=True)
class CounterQuote:
    loan: Loan
    outcome: CounterOutcome
    policy_version: str | None
    quote: Quote | None
    refusal: Refusal | None
    human_review: bool


@dataclass(frozen=True)
class QuoteSummary:
    quote: Quote
    summary_text: str


def _paused() -> Refusal:
    return Refusal(COLLECTION_PAUSED, reason_text(COLLECTION_PAUSED))


def _time_barred() -> Refusal:
    return Refusal(TIME_BARRED, reason_text(TIME_BARRED), human_review=True)


async def _blocked(session: AsyncSession, loan: Loan, *, today: date, limitation_years: int) -> Refusal | None:
    """Why this loan gets no online option at all (O5 pause, E6 time-barred), or None."""
    if loan.collection_paused:
        return _paused()
    if await is_time_barred(session, loan, today=today, years=limitation_years):
        return _time_barred()
    return None


def _new_quote(terms: dict[str, Any], *, now: datetime, ttl_minutes: int) -> Quote:
    return Quote(
        id=str(uuid.uuid4()),
        borrower_id=terms["borrower_id"],
        loan_id=terms["loan_id"],
        conversation_id=terms["conversation_id"],
        kind=terms["kind"],
        policy_version=terms["policy_version"],
        terms=terms,
        terms_hash=terms_hash(terms),
        total_repayable_fen=terms["total_repayable_fen"],
        annual_cost_bp=terms["annual_cost_bp"],
        status=QuoteStatus.OPEN,
        created_at=now,
        expires_at=now + timedelta(minutes=ttl_minutes),
    )


async def _store_quotes(
    session: AsyncSession, terms_list: list[dict[str, Any]], *, now: datetime, ttl_minutes: int
) -> list[Quote]:
    """Insert the quotes, then audit each (quote.created: ids, kind, version, totals)."""
    quotes = [_new_quote(terms, now=now, ttl_minutes=ttl_minutes) for terms in terms_list]
    session.add_all(quotes)
    await session.flush()
    for quote in quotes:
        await audit.append(
            session,
            actor=QUOTE_ACTOR,
            action=AuditAction.QUOTE_CREATED,
            subject=quote_subject(quote.id),
            payload={
                "quote_id": quote.id,
                "loan_id": quote.loan_id,
                "kind": quote.kind,
                "policy_version": quote.policy_version,
                "terms_hash": quote.terms_hash,
                "total_repayable_fen": quote.total_repayable_fen,
                "annual_cost_bp": quote.annual_cost_bp,
                "instalments": len(quote.terms["schedule"]),
                "flagged_above_lpr_multiple": quote.terms["flagged_above_lpr_multiple"],
            },
        )
    return quotes


async def create_quotes(
    session: AsyncSession,
    *,
    conversation_id: str,
    ttl_minutes: int,
    kind: OptionKind | None = None,
    hardship_reason: HardshipReason | None = None,
    contract_no: str | None = None,
    now: datetime | None = None,
    limitation_years: int = 3,
) -> QuoteSet:
    """Every option for the loan (or those of one kind): eligible ones stored as quotes."""
    context = await verified_context(session, conversation_id=conversation_id, now=now or utcnow())
    loan = await quotable_loan(
        session, borrower_id=context.borrower.id, today=context.today, contract_no=contract_no
    )
    blocked = await _blocked(session, loan, today=context.today, limitation_years=limitation_years)
    if blocked is not None:
        return QuoteSet(loan, context.today, None, [], [], blocked=blocked)
    policy = current_policy(loan.product_name)
    position = LoanPosition.from_loan(loan, as_of=context.today)
    reason = hardship_reason.value if hardship_reason else None
    offer_set = options_for(position, policy, today=context.today, hardship_reason=reason)
    options = [o for o in offer_set.options if kind is None or o.kind is kind]
    terms_list = [
        option_terms(
            option, position=position, policy=policy, loan=loan,
            conversation_id=context.conversation.id, hardship_reason=reason,
        )
        for option in options
        if option.eligible
    ]
    quotes = await _store_quotes(session, terms_list, now=context.now, ttl_minutes=ttl_minutes)
    refused = [option for option in options if not option.eligible]
    return QuoteSet(loan, context.today, policy.version, quotes, refused, blocked=None)


def _stated(
    monthly_affordable_fen: int | None, amount_by_date_fen: int | None, pay_by_date: date | None
) -> dict[str, Any]:
    if monthly_affordable_fen is not None:
        return {"monthly_affordable_fen": monthly_affordable_fen}
    return {
        "amount_by_date_fen": amount_by_date_fen,
        "pay_by_date": pay_by_date.isoformat() if pay_by_date else None,
    }


async def create_counter_quote(
    session: AsyncSession,
    *,
    conversation_id: str,
    ttl_minutes: int,
    monthly_affordable_fen: int | None = None,
    amount_by_date_fen: int | None = None,
    pay_by_date: date | None = None,
    contract_no: str | None = None,
    now: datetime | None = None,
    limitation_years: int = 3,
) -> CounterQuote:
    """Answer "每月只能还X" or "D日前能还X" (O4, L3): a quote for the fitting or nearest
    compliant plan, or a reasoned none with a human path. Never a plan above X."""
    context = await verified_context(session, conversation_id=conversation_id, now=now or utcnow())
    loan = await quotable_loan(
        session, borrower_id=context.borrower.id, today=context.today, contract_no=contract_no
    )
    blocked = await _blocked(session, loan, today=context.today, limitation_years=limitation_years)
    if blocked is not None:
        return CounterQuote(loan, CounterOutcome.NONE, None, None, blocked, human_review=True)
    policy = current_policy(loan.product_name)
    position = LoanPosition.from_loan(loan, as_of=context.today)
    answer = counter_offer(
        position, policy, today=context.today, monthly_affordable_fen=monthly_affordable_fen,
        pay_by_date=pay_by_date, amount_by_date_fen=amount_by_date_fen,
    )
    refusal = (
        Refusal(answer.reason_code.value, answer.reason_text, answer.human_review)
        if answer.reason_code else None
    )
    if answer.option is None:
        return CounterQuote(loan, answer.outcome, policy.version, None, refusal, human_review=True)
    stated = {**_stated(monthly_affordable_fen, amount_by_date_fen, pay_by_date),
              "outcome": answer.outcome.value}
    terms = option_terms(
        answer.option, position=position, policy=policy, loan=loan,
        conversation_id=context.conversation.id, counter_offer=stated,
    )
    limit = monthly_affordable_fen if monthly_affordable_fen is not None else amount_by_date_fen
    if largest_amount_fen(terms) > limit:  # the engine promises this; never rely on it alone
        above = Refusal(PLAN_ABOVE_STATED_AMOUNT, reason_text(PLAN_ABOVE_STATED_AMOUNT))
        return CounterQuote(loan, CounterOutcome.NONE, policy.version, None, above, True)
    [quote] = await _store_quotes(session, [terms], now=context.now, ttl_minutes=ttl_minutes)
    return CounterQuote(
        loan, answer.outcome, policy.version, quote, refusal, human_review=answer.human_review
    )


async def quote_summary(
    session: AsyncSession, *, conversation_id: str, quote_id: str, now: datetime | None = None
) -> QuoteSummary:
    """The D3 summary the bot shows before asking for consent. An open quote must pass
    what acceptance will check (so the bot never asks for consent it must then refuse);
    an accepted one shows what was agreed."""
    context = await verified_context(session, conversation_id=conversation_id, now=now or utcnow())
    quote = await owned_quote(session, context, quote_id)
    await ensure_untampered(session, quote)
    if quote.status == QuoteStatus.WITHDRAWN:
        raise QuoteWithdrawn()
    if quote.status == QuoteStatus.OPEN:
        ensure_not_expired(quote, now=context.now)
        ensure_current_policy(quote, product_name=quote.terms["product_name"])
        ensure_loan_unchanged(await session.get(Loan, quote.loan_id), quote)
    return QuoteSummary(quote=quote, summary_text=render_summary(quote.terms))
