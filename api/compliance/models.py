"""Compliance tables: computed flags (a cache, recomputable at any time) and reviews."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow


class Verdict(StrEnum):
    """A reviewer's verdict on one conversation (A3). Closed vocabulary: the dashboard
    and search group by it, so a new verdict is a new member, not a free string."""

    COMPLIANT = "compliant"  # 合规
    MINOR_ISSUE = "minor_issue"  # 轻微问题
    BREACH = "breach"  # 违规
    NEEDS_FOLLOW_UP = "needs_follow_up"  # 需跟进


class ComplianceFlag(Base):
    """One automatic finding (api/compliance/flags.py) with the rule it concerns.

    Derived data: `flag_cache.refresh` deletes and recomputes a conversation's rows, so a
    change to a rule applies to old conversations too. Nothing here is evidence; the
    transcript and the audit chain are.
    """

    __tablename__ = "compliance_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(8), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    detail: Mapped[str] = mapped_column(String(500))
    # When the flagged thing happened (the message's time, else the conversation's start):
    # the dashboard counts flags per week of occurrence, not of computation.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FlagScan(Base):
    """Which state of a conversation its flags were computed from: a conversation with a
    newer message (or a newer escalation/agreement) is stale and recomputed on demand."""

    __tablename__ = "compliance_flag_scans"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Review(Base):
    """A reviewer's verdict and comment. Append-only: a second review adds a row; the
    latest one is the conversation's current verdict."""

    __tablename__ = "compliance_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[Verdict] = mapped_column(String(24), index=True)
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Anonymisation(Base):
    """A conversation the retention job anonymised (A1): its texts are gone, its
    aggregates (agreements, escalations, flags, reviews) and the audit chain stay."""

    __tablename__ = "compliance_anonymisations"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id"), primary_key=True
    )
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime())
    messages: Mapped[int]
    anonymised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DataRequestKind(StrEnum):
    """PIPL Arts. 44-47 borrower rights (PD3)."""

    ACCESS = "access"  # 查阅
    COPY = "copy"  # 复制
    CORRECTION = "correction"  # 更正
    DELETION = "deletion"  # 删除


class DataRequestStatus(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"


class DataRequest(Base):
    """A borrower's personal-data request, tracked until compliance fulfils it (PD3)."""

    __tablename__ = "compliance_data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    # The conversation it was raised in, when it came from chat.
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    kind: Mapped[DataRequestKind] = mapped_column(String(16))
    status: Mapped[DataRequestStatus] = mapped_column(String(16), default=DataRequestStatus.OPEN)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
