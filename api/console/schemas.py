"""Console request/response shapes. Money goes out as MoneyOut (fen + its one display
string); every code (reason, outcome, rule) comes with its Chinese label."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.agreements.models import Quote
from api.agreements.schemas import money
from api.console.claims import ClaimOutcome
from api.console.guard import Verdict
from api.console.notes import NoteView
from api.console.queue import QueueEntry
from api.console.texts import outcome_label, reason_label, urgency_label
from api.console.view import ConversationView, EscalationView, MessageView
from api.contact_preferences.schemas import ContactPreferenceOut
from api.gateway.models import CloseOutcome
from api.gateway.schemas import CONTROL_CHARACTERS
from api.internal.schemas import MoneyOut
from api.loans.service import LoanDue
from api.offers import HardshipReason, OptionKind
from api.offers.texts import format_bp, hardship_reason_name, option_name

TEXT_MAX = 2000
NOTE_MAX = 2000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("内容不能为空")
    if CONTROL_CHARACTERS.search(value):  # never typed by a person; NUL cannot be stored
        raise ValueError("内容包含无法显示的控制字符")
    return value


class DraftIn(_In):
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    _check = field_validator("text")(_not_blank)


class NoteIn(_In):
    text: str = Field(min_length=1, max_length=NOTE_MAX)
    _check = field_validator("text")(_not_blank)


class CloseIn(_In):
    outcome: CloseOutcome


class HolderOut(BaseModel):
    user_id: int
    display_name: str


class QueueItemOut(BaseModel):
    escalation_id: int
    conversation_id: str
    channel: str
    state: str
    verified: bool
    reason_code: str
    reason_label: str
    urgency: int
    urgency_label: str
    note: str | None
    created_at: datetime
    waiting_seconds: int
    claimed_by: HolderOut | None
    claimed_at: datetime | None

    @classmethod
    def of(cls, entry: QueueEntry) -> "QueueItemOut":
        e = entry.escalation
        return cls(
            escalation_id=e.id, conversation_id=e.conversation_id, channel=entry.channel,
            state=entry.state, verified=entry.verified, reason_code=e.reason_code,
            reason_label=reason_label(e.reason_code), urgency=e.urgency,
            urgency_label=urgency_label(e.urgency), note=e.note, created_at=e.created_at,
            waiting_seconds=entry.waiting_seconds,
            claimed_by=HolderOut(user_id=e.claimed_by, display_name=entry.claimed_by_name or "")
            if e.claimed_by is not None else None,
            claimed_at=e.claimed_at,
        )


class QueueOut(BaseModel):
    items: list[QueueItemOut]


class ClaimOut(BaseModel):
    conversation_id: str
    escalation_id: int
    claimed_by: HolderOut
    claimed_at: datetime


class ClaimConflictOut(BaseModel):
    """409: AlreadyClaimed names the holder; NoOpenEscalation (nothing left to claim) has
    no holder."""

    error: str = "AlreadyClaimed"
    detail: str
    claimed_by: HolderOut | None = None

    @classmethod
    def of(cls, outcome: ClaimOutcome) -> "ClaimConflictOut":
        holder = outcome.holder
        return cls(detail=f"该会话已由 {holder.display_name} 接入",
                   claimed_by=HolderOut(user_id=holder.user_id, display_name=holder.display_name))


class ConsoleMessageOut(BaseModel):
    id: int
    sender: str
    text: str
    at: datetime
    template: str | None
    status: str
    author_name: str | None

    @classmethod
    def of(cls, m: MessageView) -> "ConsoleMessageOut":
        return cls(**vars(m))


class ViolationOut(BaseModel):
    rule_id: str
    category: str
    reason: str
    start: int
    end: int
    matched: str


class BlockedOut(BaseModel):
    error: str = "MessageBlocked"
    detail: str = "消息未发送：内容违反合规规则，请修改后再发"
    party_verified: bool
    violations: list[ViolationOut]

    @classmethod
    def of(cls, verdict: Verdict) -> "BlockedOut":
        return cls(party_verified=verdict.party_verified, violations=[
            ViolationOut(rule_id=v.rule_id, category=v.category, reason=v.reason,
                         start=v.span[0], end=v.span[1], matched=v.matched)
            for v in verdict.violations
        ])


class InvalidInputOut(BaseModel):
    """422 for a request that does not validate (FastAPI's shape)."""

    detail: list[dict]


class NoteOut(BaseModel):
    id: int
    author_id: int
    author_name: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, note: NoteView) -> "NoteOut":
        return cls(**vars(note))


class NotesOut(BaseModel):
    notes: list[NoteOut]


class LoanSummaryOut(BaseModel):
    contract_no: str
    product_name: str
    due_date: date
    days_past_due: int
    status: str
    collection_paused: bool  # O5: breathing space — no collection at all
    principal: MoneyOut
    interest: MoneyOut
    penalty_interest: MoneyOut
    fees: MoneyOut
    total_due: MoneyOut

    @classmethod
    def of(cls, due: LoanDue) -> "LoanSummaryOut":
        loan = due.loan
        return cls(
            contract_no=loan.contract_no, product_name=loan.product_name, due_date=loan.due_date,
            days_past_due=due.days_past_due, status=loan.status,
            collection_paused=loan.collection_paused,
            principal=money(loan.outstanding_principal_fen),
            interest=money(loan.outstanding_interest_fen),
            penalty_interest=money(loan.penalty_interest_fen), fees=money(loan.fees_fen),
            total_due=money(loan.total_due_fen),
        )


class QuoteOut(BaseModel):
    id: str
    kind: OptionKind
    kind_label: str
    name: str
    total_repayable: MoneyOut
    annual_cost_bp: int
    annual_cost_display: str
    status: str
    hardship_reason: HardshipReason | None
    hardship_label: str | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, quote: Quote) -> "QuoteOut":
        hardship = quote.terms.get("hardship_reason")
        kind = OptionKind(quote.kind)
        return cls(
            id=quote.id, kind=kind, kind_label=option_name(kind), name=quote.terms.get("name", ""),
            total_repayable=money(quote.total_repayable_fen), annual_cost_bp=quote.annual_cost_bp,
            annual_cost_display=format_bp(quote.annual_cost_bp), status=quote.status,
            hardship_reason=hardship,
            hardship_label=hardship_reason_name(HardshipReason(hardship)) if hardship else None,
            created_at=quote.created_at, expires_at=quote.expires_at,
        )


class EscalationOut(BaseModel):
    id: int
    reason_code: str
    reason_label: str
    urgency: int
    urgency_label: str
    note: str | None
    created_at: datetime
    claimed_by: HolderOut | None
    claimed_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    outcome_label: str | None

    @classmethod
    def of(cls, view: EscalationView) -> "EscalationOut":
        e = view.escalation
        return cls(
            id=e.id, reason_code=e.reason_code, reason_label=reason_label(e.reason_code),
            urgency=e.urgency, urgency_label=urgency_label(e.urgency), note=e.note,
            created_at=e.created_at,
            claimed_by=HolderOut(user_id=e.claimed_by, display_name=view.claimed_by_name or "")
            if e.claimed_by is not None else None,
            claimed_at=e.claimed_at, resolved_at=e.resolved_at, outcome=e.outcome,
            outcome_label=outcome_label(e.outcome) if e.outcome else None,
        )


class BorrowerOut(BaseModel):
    full_name: str
    phone_masked: str
    timezone: str


class VerificationOut(BaseModel):
    verified: bool
    failures: int
    locked_until: datetime | None


class ConsoleConversationOut(BaseModel):
    conversation_id: str
    channel: str
    state: str
    timezone: str
    held_by_you: bool
    verification: VerificationOut
    borrower: BorrowerOut | None  # only once verified (P4)
    loans: list[LoanSummaryOut]
    quotes: list[QuoteOut]
    hardship_reason: str | None  # the latest stated on a quote, as its Chinese name
    contact_preferences: ContactPreferenceOut | None
    escalations: list[EscalationOut]  # newest first
    messages: list[ConsoleMessageOut]
    notes: list[NoteOut]

    @classmethod
    def of(cls, view: ConversationView, *, user_id: int) -> "ConsoleConversationOut":
        c = view.conversation
        quotes = [QuoteOut.of(q) for q in view.quotes]
        open_ = [e for e in view.escalations if e.escalation.resolved_at is None]
        return cls(
            conversation_id=c.id, channel=c.channel, state=c.state, timezone=view.timezone,
            held_by_you=bool(open_) and open_[0].escalation.claimed_by == user_id and c.state == "agent",
            verification=VerificationOut(verified=view.verified, failures=c.verification_failures,
                                         locked_until=c.verification_locked_until),
            borrower=BorrowerOut(full_name=view.borrower.full_name, phone_masked=view.borrower.phone_masked,
                                 timezone=view.borrower.timezone) if view.borrower else None,
            loans=[LoanSummaryOut.of(d) for d in view.loans],
            quotes=quotes,
            hardship_reason=next((q.hardship_label for q in quotes if q.hardship_label), None),
            contact_preferences=ContactPreferenceOut.from_snapshot(view.preferences)
            if view.preferences else None,
            escalations=[EscalationOut.of(e) for e in view.escalations],
            messages=[ConsoleMessageOut.of(m) for m in view.messages],
            notes=[NoteOut.of(n) for n in view.notes],
        )


class SentOut(BaseModel):
    message: ConsoleMessageOut


class StateOut(BaseModel):
    conversation_id: str
    state: str
    message: ConsoleMessageOut  # what the borrower was told (greeting or closing notice)
