"""Audit events: one linear hash chain over everything that must be provable later (A1, A2)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime

# prev_hash of the first event (seq 1).
GENESIS_HASH = "0" * 64


class AuditAction(StrEnum):
    """Closed vocabulary: a typo in an action name would hide an event from every report,
    so a new kind of event is a new member here, not a free string at the call site."""

    QUOTE_CREATED = "quote.created"
    AGREEMENT_CREATED = "agreement.created"
    AGREEMENT_STATUS_CHANGED = "agreement.status_changed"  # kept / broken
    SCHEDULE_ITEM_MISSED = "schedule.item_missed"  # a promise or instalment was broken
    PAYMENT_RECORDED = "payment.recorded"
    BORROWER_CREATED = "borrower.created"
    PREFERENCE_CHANGED = "preference.changed"
    ESCALATION_OPENED = "escalation.opened"
    ESCALATION_CLAIMED = "escalation.claimed"
    ESCALATION_RESOLVED = "escalation.resolved"
    ESCALATION_UPGRADED = "escalation.upgraded"  # e.g. a distress phrase while waiting
    CONVERSATION_STATE_CHANGED = "conversation.state_changed"
    BOT_TRACKER_CONTROLLED = "bot.tracker_controlled"  # Rasa tracker pause/resume, ok or not
    THIRD_PARTY_REPORTED = "conversation.third_party_reported"  # P1/P2: disclosure stopped
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    USER_CREATED = "user.created"
    TRANSCRIPT_VIEWED = "transcript.viewed"
    EXPORT_CREATED = "export.created"
    # Compliance workspace (issue 7): PD2 reveal, A3 reviews, A1 retention.
    TRANSCRIPT_REVEALED = "transcript.revealed"  # unmasked ID/phone/card numbers shown
    REVIEW_RECORDED = "compliance.review_recorded"
    CONVERSATION_ANONYMISED = "conversation.anonymised"  # retention job (A1)
    DATA_REQUEST_OPENED = "data_request.opened"  # PD3: a borrower asked for their data
    DATA_REQUEST_RESOLVED = "data_request.resolved"  # fulfilled (with the export hash) or rejected
    # Collector console (issue 6). Claim, hand back and close are escalation.* and
    # conversation.state_changed events; these record what only the console does.
    CONSOLE_CLAIM_REFUSED = "console.claim_refused"  # lost a race or already taken
    CONSOLE_MESSAGE_SENT = "console.message_sent"  # passed the pre-send guard
    CONSOLE_MESSAGE_BLOCKED = "console.message_blocked"  # refused by the guard (L1/L2/P1-P4)
    CONSOLE_NOTE_ADDED = "console.note_added"  # internal, never shown to the borrower
    # Outreach (issue 9): what became of every proactive reminder, with its rule_id.
    OUTREACH_SCHEDULED = "outreach.scheduled"  # a scheduler pass created reminders (counts)
    OUTREACH_SENT = "outreach.sent"  # stored in the borrower's conversation, rules checked
    OUTREACH_HELD = "outreach.held"  # T1/T2/T3: held until a time, never dropped
    OUTREACH_BLOCKED = "outreach.blocked"  # T4/T5/P3/O5/E1-E6: not sent
    OUTREACH_CANCELLED = "outreach.cancelled"  # paid, superseded or stale before sending
    OUTREACH_DELIVERY_FAILED = "outreach.delivery_failed"  # the channel refused it (retried or failed)
    LOAN_COLLECTION_PAUSE_CHANGED = "loan.collection_pause_changed"  # O5 set or lifted
    # A promise still broken after its one follow-up became a collector task (subject agreement:N).
    PROMISE_COLLECTOR_TASK_OPENED = "promise.collector_task_opened"


class AuditEvent(Base):
    __tablename__ = "audit_events"

    # Assigned by append() under the chain lock as head + 1, not by a database sequence:
    # sequences skip numbers on rollback, and a gap must only ever mean tampering.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "user:3", "service:actions", "borrower-session:<conversation id>", "system", "anonymous"
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[AuditAction] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(128), index=True)  # "loan:12", "user:3"
    payload: Mapped[dict] = mapped_column(JSON)
    # Unique: two events claiming the same predecessor would be a forked chain, so the
    # database refuses it even if the application lock were ever bypassed.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
