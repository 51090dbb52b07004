"""Borrowers and their loans. Money columns are integer fen (分)."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.db import Base, UTCDateTime, utcnow


class LoanStatus(StrEnum):
    CURRENT = "current"
    OVERDUE = "overdue"
    SETTLED = "settled"


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
    due_date: Mapped[date] = mapped_column(Date)
    outstanding_principal_fen: Mapped[int]
    outstanding_interest_fen: Mapped[int]
    penalty_interest_fen: Mapped[int]
    fees_fen: Mapped[int]
    status: Mapped[LoanStatus] = mapped_column(String(16), default=LoanStatus.CURRENT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    borrower: Mapped[Borrower] = relationship(back_populates="loans")

    @property
    def total_due_fen(self) -> int:
        return (
            self.outstanding_principal_fen
            + self.outstanding_interest_fen
            + self.penalty_interest_fen
            + self.fees_fen
        )
