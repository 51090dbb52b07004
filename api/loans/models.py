"""Borrowers and their loans. Money columns are integer fen (分)."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.db import Base, UTCDateTime, utcnow


class LoanStatus(StrEnum):
    CURRENT = "current"
    OVERDUE = "overdue"
    SETTLED = "settled"


class ScheduleItemStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    MISSED = "missed"  # due date passed without full payment (a broken promise/instalment)
    SUPERSEDED = "superseded"  # replaced by an agreement's new schedule


class Borrower(Base):
    __tablename__ = "borrowers"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(64))
    # The ID number itself is never stored: only an HMAC under a deployment salt
    # (to match a full number later) and its last four characters (to verify, P4).
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_last4: Mapped[str] = mapped_column(String(4))
    birth_date: Mapped[date] = mapped_column(Date)
    phone_masked: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    loans: Mapped[list["Loan"]] = relationship(back_populates="borrower")

    __table_args__ = (Index("ix_borrowers_identity", "id_last4", "birth_date"),)


class Loan(Base):
    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    contract_no: Mapped[str] = mapped_column(String(32), unique=True)
    product_name: Mapped[str] = mapped_column(String(64))
    principal_fen: Mapped[int]
    contract_rate_bp: Mapped[int]  # annual rate in basis points
    # O1: the LPR that bounds a plan's cost is the one in force on this date.
    contract_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    outstanding_principal_fen: Mapped[int]
    outstanding_interest_fen: Mapped[int]
    penalty_interest_fen: Mapped[int]
    fees_fen: Mapped[int]
    status: Mapped[LoanStatus] = mapped_column(String(16), default=LoanStatus.CURRENT)
    # O5: the lender's breathing-space flag stops all collection and freezes accrual.
    collection_paused: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    borrower: Mapped[Borrower] = relationship(back_populates="loans")
    schedule: Mapped[list["ScheduleItem"]] = relationship(
        back_populates="loan", order_by="ScheduleItem.due_date, ScheduleItem.id"
    )

    @property
    def total_due_fen(self) -> int:
        return (
            self.outstanding_principal_fen
            + self.outstanding_interest_fen
            + self.penalty_interest_fen
            + self.fees_fen
        )


class ScheduleItem(Base):
    """One dated amount the borrower owes: a contract instalment, an agreed instalment or a
    promise-to-pay. An agreement supersedes the pending items it replaces."""

    __tablename__ = "schedule_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    seq: Mapped[int]
    due_date: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int]
    paid_fen: Mapped[int] = mapped_column(default=0)
    status: Mapped[ScheduleItemStatus] = mapped_column(
        String(16), default=ScheduleItemStatus.PENDING
    )

    loan: Mapped[Loan] = relationship(back_populates="schedule")


class Payment(Base):
    """Money received against a loan. Idempotent by the payment processor's reference."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    external_ref: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int]
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("external_ref", name="uq_payments_external_ref"),)
