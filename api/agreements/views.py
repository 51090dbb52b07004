"""Service results → response schemas (the routes stay thin)."""

from api.agreements.accept import Acceptance
from api.agreements.quotes import CounterQuote, QuoteSet, QuoteSummary
from api.agreements.schemas import (
    AcceptanceOut,
    AgreementOut,
    CounterOfferOut,
    QuoteOut,
    QuoteSetOut,
    QuoteSummaryOut,
    ReasonOut,
    RefusedOptionOut,
)
from api.agreements.texts import agreement_copy_heading, consent_prompt


def quote_set_out(quote_set: QuoteSet) -> QuoteSetOut:
    blocked = quote_set.blocked
    return QuoteSetOut(
        contract_no=quote_set.loan.contract_no,
        product_name=quote_set.loan.product_name,
        as_of=quote_set.as_of,
        policy_version=quote_set.policy_version,
        quotes=[QuoteOut.from_quote(quote) for quote in quote_set.quotes],
        refused=[
            RefusedOptionOut(
                kind=option.kind, name=option.name, term_days=option.term_days,
                term_months=option.term_months, reason_code=option.reason_code.value,
                reason_text=option.reason_text, human_review=option.human_review,
            )
            for option in quote_set.refused
        ],
        blocked=ReasonOut(**vars(blocked)) if blocked else None,
    )


def counter_offer_out(answer: CounterQuote) -> CounterOfferOut:
    refusal = answer.refusal
    return CounterOfferOut(
        contract_no=answer.loan.contract_no,
        outcome=answer.outcome,
        policy_version=answer.policy_version,
        quote=QuoteOut.from_quote(answer.quote) if answer.quote else None,
        reason_code=refusal.reason_code if refusal else None,
        reason_text=refusal.reason_text if refusal else None,
        human_review=answer.human_review,
    )


def summary_out(shown: QuoteSummary) -> QuoteSummaryOut:
    return QuoteSummaryOut(
        quote=QuoteOut.from_quote(shown.quote),
        summary_text=shown.summary_text,
        consent_prompt=consent_prompt(),
    )


def acceptance_out(accepted: Acceptance) -> AcceptanceOut:
    fields = AgreementOut.fields_from(accepted.agreement)
    heading = agreement_copy_heading(agreement_no=fields["agreement_no"])
    return AcceptanceOut(
        **fields, replayed=accepted.replayed, copy_text=f"{heading}\n{fields['summary_text']}"
    )
