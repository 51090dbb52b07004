"""Request and response shapes of the quotes/agreements routes.

Every amount goes out as MoneyOut (fen plus its one display string). Inputs are strict:
money is a JSON integer of fen (no floats, no strings), enums are closed, strings are
bounded, and extra fields are refused, so bad input is a field-level 422, never a 500.
"""

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from api.agreements.accept import CONSENT_TEXT, agreement_no
from api.agreements.models import Agreement, AgreementStatus, Quote, QuoteStatus
from api.agreements.texts import validation_text
from api.core.db import utcnow
from api.core.money import format_fen
from api.internal.schemas import MoneyOut
from api.offers import CounterOutcome, HardshipReason, OptionKind
from api.offers.texts import format_bp

MAX_FEN = 10**12  # ¥10 billion: anything above is not a borrower's amount
PG_INT_MAX = 2**31 - 1  # integer ids are int4 on PostgreSQL
PAY_BY_MAX_DAYS = 366
ContractNo = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")]
FenAmount = Annotated[StrictInt, Field(gt=0, le=MAX_FEN)]
# ids are uuid4 strings; anything else cannot exist, so it is refused before any query
# RFC 9110 token-ish: 1..128 visible ASCII characters, no spaces or control characters
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuoteRequest(_In):
    kind: OptionKind | None = None  # only options of this kind
    hardship_reason: HardshipReason | None = None  # needed for 罚息减免
    contract_no: ContractNo | None = None  # required when the borrower has several loans


class CounterOfferRequest(_In):
    """Either `monthly_affordable_fen`, or `amount_by_date_fen` with `pay_by_date`."""

    monthly_affordable_fen: FenAmount | None = None
    amount_by_date_fen: FenAmount | None = None
    pay_by_date: date | None = None
    contract_no: ContractNo | None = None

    @field_validator("pay_by_date")
    @classmethod
    def _plausible_date(cls, value: date | None) -> date | None:
        # Bounds that hold in every time zone (UTC−12 … UTC+14); the borrower's own
        # today is applied by the engine (promise_date_in_past).
        now = utcnow()
        if value is not None and value < (now - timedelta(hours=12)).date():
            raise PydanticCustomError("date_in_past", validation_text("pay_by_date_in_past"))
        latest = (now + timedelta(hours=14)).date() + timedelta(days=PAY_BY_MAX_DAYS)
        if value is not None and value > latest:
            raise PydanticCustomError("date_too_far", validation_text("pay_by_date_too_far"))
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        monthly = self.monthly_affordable_fen is not None
        dated = [self.amount_by_date_fen is not None, self.pay_by_date is not None]
        monthly_form = monthly and not any(dated)
        dated_form = not monthly and all(dated)
        if not (monthly_form or dated_form):
            raise PydanticCustomError("counter_offer_form", validation_text("counter_offer_form"))
        return self


class AcceptRequest(_In):
    """D3: the borrower's explicit act. Only "确认" (whitespace around it ignored)."""

    consent_text: Annotated[str, Field(max_length=64)]
    consent_message_id: Annotated[StrictInt, Field(ge=1, le=PG_INT_MAX)] | None = None

    @field_validator("consent_text")
    @classmethod
    def _explicit(cls, value: str) -> str:
        if value.strip() != CONSENT_TEXT:
            message = validation_text("consent_not_explicit")
            raise PydanticCustomError("consent_not_explicit", message)
        return CONSENT_TEXT


def money(fen: int) -> MoneyOut:
    return MoneyOut(fen=fen, display=format_fen(fen))


class InstalmentOut(BaseModel):
    number: int
    due_date: date
    amount: MoneyOut
    principal: MoneyOut  # the part that repays the rescheduled balance
    interest: MoneyOut
    fee: MoneyOut

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        return cls(
            number=item["number"], due_date=date.fromisoformat(item["due_date"]),
            amount=money(item["amount_fen"]), principal=money(item["rescheduled_fen"]),
            interest=money(item["interest_fen"]), fee=money(item["fee_fen"]),
        )


class CounterProposalOut(BaseModel):
    """What the borrower said they can pay, as recorded in the quote's terms."""

    outcome: CounterOutcome
    monthly_affordable: MoneyOut | None = None
    amount_by_date: MoneyOut | None = None
    pay_by_date: date | None = None


class TermsOut(BaseModel):
    kind: OptionKind
    name: str
    term_days: int | None
    term_months: int | None
    contract_no: str
    product_name: str
    as_of: date
    total_due_before: MoneyOut  # what is owed today, before the arrangement
    financed: MoneyOut  # the amount the arrangement defers
    total_repayable: MoneyOut  # sum of the schedule: financed + interest + fees
    interest: MoneyOut
    fees: MoneyOut
    fee_clause: str | None  # the contract clause disclosing a non-zero fee (O2)
    waived: MoneyOut
    remaining_balance: MoneyOut  # still owed under the contract (partial payment only)
    annual_cost_bp: int  # effective annual all-in cost, rounded up (O1)
    annual_cost_display: str
    flagged_above_lpr_multiple: bool
    hardship_reason: HardshipReason | None
    counter_offer: CounterProposalOut | None
    schedule: list[InstalmentOut]

    @classmethod
    def from_terms(cls, terms: dict[str, Any]) -> Self:
        counter = terms["counter_offer"]
        return cls(
            kind=terms["kind"], name=terms["name"], term_days=terms["term_days"],
            term_months=terms["term_months"], contract_no=terms["contract_no"],
            product_name=terms["product_name"], as_of=date.fromisoformat(terms["as_of"]),
            total_due_before=money(terms["position"]["total_due_fen"]),
            financed=money(terms["financed_fen"]),
            total_repayable=money(terms["total_repayable_fen"]),
            interest=money(terms["interest_fen"]), fees=money(terms["fees_fen"]),
            fee_clause=terms["fee_clause"], waived=money(terms["waived_fen"]),
            remaining_balance=money(terms["remaining_balance_fen"]),
            annual_cost_bp=terms["annual_cost_bp"],
            annual_cost_display=format_bp(terms["annual_cost_bp"]),
            flagged_above_lpr_multiple=terms["flagged_above_lpr_multiple"],
            hardship_reason=terms["hardship_reason"],
            counter_offer=_counter_out(counter) if counter else None,
            schedule=[InstalmentOut.from_item(item) for item in terms["schedule"]],
        )


def _counter_out(counter: dict[str, Any]) -> CounterProposalOut:
    monthly, by_date = counter.get("monthly_affordable_fen"), counter.get("amount_by_date_fen")
    return CounterProposalOut(
        outcome=counter["outcome"],
        monthly_affordable=money(monthly) if monthly is not None else None,
        amount_by_date=money(by_date) if by_date is not None else None,
        pay_by_date=counter.get("pay_by_date"),
    )


class QuoteOut(BaseModel):
    quote_id: str
    kind: OptionKind
    name: str
    status: QuoteStatus
    policy_version: str
    created_at: datetime
    expires_at: datetime
    terms: TermsOut

    @classmethod
    def from_quote(cls, quote: Quote) -> Self:
        return cls(
            quote_id=quote.id, kind=quote.kind, name=quote.terms["name"], status=quote.status,
            policy_version=quote.policy_version, created_at=quote.created_at,
            expires_at=quote.expires_at, terms=TermsOut.from_terms(quote.terms),
        )


class RefusedOptionOut(BaseModel):
    """An option the borrower cannot have online, why, and that a person can review (D2)."""

    kind: OptionKind
    name: str
    term_days: int | None
    term_months: int | None
    reason_code: str
    reason_text: str
    human_review: bool


class ReasonOut(BaseModel):
    reason_code: str
    reason_text: str
    human_review: bool


class QuoteSetOut(BaseModel):
    contract_no: str
    product_name: str
    as_of: date
    policy_version: str | None  # null when no policy was consulted (blocked)
    quotes: list[QuoteOut]
    refused: list[RefusedOptionOut]
    blocked: ReasonOut | None  # e.g. collection_paused (O5): no options at all


class CounterOfferOut(BaseModel):
    contract_no: str
    outcome: CounterOutcome  # fits | alternative | none
    policy_version: str | None
    quote: QuoteOut | None  # the plan, never above the stated amount
    reason_code: str | None  # why it is an alternative or none
    reason_text: str | None
    human_review: bool


class QuoteSummaryOut(BaseModel):
    quote: QuoteOut
    summary_text: str  # D3: show this before asking for consent
    consent_prompt: str


class AgreementOut(BaseModel):
    agreement_id: int
    agreement_no: str
    quote_id: str
    borrower_id: int
    loan_id: int
    contract_no: str
    kind: OptionKind
    name: str
    status: AgreementStatus
    policy_version: str
    terms_hash: str
    total_repayable: MoneyOut
    annual_cost_bp: int
    annual_cost_display: str
    first_due_date: date
    schedule: list[InstalmentOut]
    summary_text: str
    consent_text: str
    consent_message_id: int | None
    channel: str
    conversation_id: str | None
    created_at: datetime

    @classmethod
    def fields_from(cls, agreement: Agreement) -> dict[str, Any]:
        terms = agreement.terms
        return dict(
            agreement_id=agreement.id, agreement_no=agreement_no(agreement),
            quote_id=agreement.quote_id, borrower_id=agreement.borrower_id,
            loan_id=agreement.loan_id, contract_no=terms["contract_no"], kind=agreement.kind,
            name=terms["name"], status=agreement.status, policy_version=agreement.policy_version,
            terms_hash=agreement.terms_hash, total_repayable=money(terms["total_repayable_fen"]),
            annual_cost_bp=terms["annual_cost_bp"],
            annual_cost_display=format_bp(terms["annual_cost_bp"]),
            first_due_date=agreement.first_due_date,
            schedule=[InstalmentOut.from_item(item) for item in terms["schedule"]],
            summary_text=agreement.summary_text, consent_text=agreement.consent_text,
            consent_message_id=agreement.consent_message_id, channel=agreement.channel,
            conversation_id=agreement.conversation_id, created_at=agreement.created_at,
        )

    @classmethod
    def from_agreement(cls, agreement: Agreement) -> Self:
        return cls(**cls.fields_from(agreement))


class AcceptanceOut(AgreementOut):
    replayed: bool  # true: this Idempotency-Key had already accepted this quote
    copy_text: str  # D3: the borrower's copy (agreement number + summary) to send in chat


class AgreementPageOut(BaseModel):
    items: list[AgreementOut]
    total: int
    page: int
    page_size: int
