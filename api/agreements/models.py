"""Quotes (short-lived offers) and agreements (what the borrower explicitly accepted)."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow


class QuoteStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    # Another quote for the same loan became an agreement: this one may no longer bind.
    WITHDRAWN = "withdrawn"


class AgreementStatus(StrEnum):
    ACTIVE = "active"  # being kept
    KEPT = "kept"  # every scheduled amount paid
    BROKEN = "broken"  # a scheduled amount was missed
    SUPERSEDED = "superseded"  # replaced by a later agreement on the same loan


class Quote(Base):
    """One option computed by the policy engine, bound to borrower, loan and policy version.

    `terms` is the engine's full output for the option (schedule, totals, cost); its hash
    is stored so any later edit of the row is detectable before acceptance.
    """

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    kind: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(32))
    terms: Mapped[dict] = mapped_column(JSON)
    terms_hash: Mapped[str] = mapped_column(String(64))
    total_repayable_fen: Mapped[int]
    annual_cost_bp: Mapped[int]
    status: Mapped[QuoteStatus] = mapped_column(String(16), default=QuoteStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Agreement(Base):
    """A binding arrangement (D3): terms snapshot, consent, and where it was given.

    `quote_id` is unique: one quote can become at most one agreement, whatever the
    concurrency. `idempotency_key` is unique too, so a retried accept returns the same
    agreement instead of creating a second.
    """

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(32))
    terms: Mapped[dict] = mapped_column(JSON)
    terms_hash: Mapped[str] = mapped_column(String(64))
    # D3: the summary shown, and the borrower's explicit act ("确认") that accepted it.
    summary_text: Mapped[str] = mapped_column(Text)
    consent_text: Mapped[str] = mapped_column(String(64))
    consent_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    channel: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    status: Mapped[AgreementStatus] = mapped_column(String(16), default=AgreementStatus.ACTIVE)
    first_due_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
