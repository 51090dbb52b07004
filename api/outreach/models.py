"""Proactive reminders (催收提醒) and what became of each one (T1-T5, P3, O5, A1).

One row per reminder that should reach a borrower. `source_key` is unique, so the same
reminder can never be created twice, however many schedulers run at once (see
`scheduler.source_key`). A row moves:

    pending --claim--> claimed --gate allows--> sent   (message stored in the transcript)
                              --gate holds---> held   (not_before = when to look again)
                              --gate blocks--> blocked (rule_id says which rule)
                              --obsolete-----> cancelled (item paid / superseded / stale)
                              --push failed--> held (retry, attempts counted) ... failed
    held --not_before passed--> claimed ...

Every gate verdict and every send, block, cancellation and failure is also an audit
event (api/audit), so the outreach log is provable later (A1, A2).
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow
from api.gateway.models import Conversation


class OutreachKind(StrEnum):
    DUE_SOON = "due_soon"  # N days before an instalment's due date
    DUE_TODAY = "due_today"  # on an instalment's due date
    MISSED_PAYMENT = "missed_payment"  # an instalment was missed
    PROMISE_DUE = "promise_due"  # the pay-by date of a promise-to-pay (部分还款)
    PROMISE_FOLLOWUP = "promise_followup"  # the one follow-up after a broken promise


class OutreachStatus(StrEnum):
    PENDING = "pending"  # waiting for due_at (= not_before)
    HELD = "held"  # a timing rule (T1/T2/T3) or a delivery retry: look again at not_before
    CLAIMED = "claimed"  # a worker holds the lease until claim_expires_at
    SENT = "sent"  # stored in the borrower's conversation (and pushed where the channel allows)
    BLOCKED = "blocked"  # a rule forbids it (rule_id): never sent
    FAILED = "failed"  # the channel refused it on every attempt (last_error)
    CANCELLED = "cancelled"  # no longer relevant (item paid or superseded, reminder stale)


# Rows a worker may claim (with not_before <= now), and rows that are finished.
CLAIMABLE = (OutreachStatus.PENDING, OutreachStatus.HELD)
FINAL = (OutreachStatus.SENT, OutreachStatus.BLOCKED, OutreachStatus.FAILED, OutreachStatus.CANCELLED)


class OutreachDelivery(StrEnum):
    """How a sent reminder reached (or waits for) the borrower."""

    WEB = "web"  # stored in their web conversation; the live stream shows it
    WECHAT_SERVICE = "wechat_service"  # 客服消息 inside the 48-hour window
    WECHAT_TEMPLATE = "wechat_template"  # 模板消息 (window closed, a template is configured)
    INBOX = "inbox"  # stored only: shown when the borrower next opens the conversation


class OutreachMessage(Base):
    __tablename__ = "outreach_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    # The instalment / promise the reminder is about (None for reminders created otherwise).
    schedule_item_id: Mapped[int | None] = mapped_column(ForeignKey("schedule_items.id"))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))
    kind: Mapped[OutreachKind] = mapped_column(String(32))
    # Dedupe key, e.g. "schedule:42:due_soon" (scheduler.source_key): unique.
    source_key: Mapped[str] = mapped_column(String(128), unique=True)
    template_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[OutreachStatus] = mapped_column(String(16), default=OutreachStatus.PENDING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when it was meant to go out
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())  # earliest next attempt
    # After this the reminder is stale (e.g. "due in 3 days" after the due date): cancelled.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)  # delivery attempts through a channel
    # The rule behind the last hold or the block (T1-T5, P3, O5, E1-E6), and why.
    rule_id: Mapped[str | None] = mapped_column(String(8))
    detail: Mapped[str | None] = mapped_column(String(500))
    # Rule ids the gate checked and passed when the reminder was sent (P3 included).
    checked_rules: Mapped[list[str] | None] = mapped_column(JSON)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(16))  # web / wechat, set when sent
    delivery: Mapped[OutreachDelivery | None] = mapped_column(String(24))
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))  # the stored reminder
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Context for the borrower's reply: {"kind", "schedule_item_id", "due_date", ...}.
    payload: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # The worker's scan: claimable rows by status, earliest first.
        Index("ix_outreach_messages_status_not_before", "status", "not_before"),
        # T3 counts a borrower's recent sends.
        Index("ix_outreach_messages_borrower_sent_at", "borrower_id", "sent_at"),
    )


# Sending a reminder looks up the borrower's own conversations by borrower (their open
# web conversation, and open escalations on any of their conversations) once per send;
# without this index that is a scan of every conversation (bench/results/outreach.md).
# Declared here, next to the queries that need it; created by migration 0008.
Index("ix_conversations_borrower_id", Conversation.__table__.c.borrower_id)
