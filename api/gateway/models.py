"""Conversations and their single transcript, whoever spoke and on whichever channel."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.db import Base, UTCDateTime, utcnow


class Channel(StrEnum):
    WEB = "web"
    WECHAT = "wechat"


class ConversationState(StrEnum):
    BOT = "bot"
    WAITING_FOR_AGENT = "waiting_for_agent"
    AGENT = "agent"
    CLOSED = "closed"


class Sender(StrEnum):
    BORROWER = "borrower"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class MessageStatus(StrEnum):
    RECEIVED = "received"  # inbound, stored, not yet routed
    ROUTED = "routed"  # inbound, handed to the bot (or a collector)
    ROUTING_FAILED = "routing_failed"  # inbound, kept for a retry; nothing is lost
    SENT = "sent"  # outbound, returned in the channel's own response (web, WeChat passive)
    DELIVERED = "delivered"  # outbound, accepted by the channel's push API (WeChat 客服消息)
    DELIVERY_FAILED = "delivery_failed"  # outbound, the push API refused it; error in payload
    NOT_SENT_WINDOW_CLOSED = "window_closed"  # WeChat 48-hour service window had closed


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[Channel] = mapped_column(String(16))
    state: Mapped[ConversationState] = mapped_column(
        String(24), default=ConversationState.BOT
    )
    session_token_hash: Mapped[str] = mapped_column(String(64))
    # The channel's own user id (WeChat openid): one open conversation per such user.
    external_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrowers.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verification_failures: Mapped[int] = mapped_column(default=0)
    verification_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set by every state transition (api/gateway/handoff.py): how long a borrower has
    # been waiting, or how long a collector has had the conversation.
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the conversation was closed (CloseOutcome), for the console and compliance.
    close_outcome: Mapped[str | None] = mapped_column(String(32))

    messages: Mapped[list["Message"]] = relationship(
        back_populates="conversation", order_by="Message.id"
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id"), index=True
    )
    sender: Mapped[Sender] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # Template name or model version that produced an outbound message (A1).
    template: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[MessageStatus] = mapped_column(String(16))
    # The channel's id for an inbound message (WeChat MsgId): a retry is stored once.
    channel_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")

    __table_args__ = (
        UniqueConstraint("channel_message_id", name="uq_messages_channel_message_id"),
    )


class ReasonCode(StrEnum):
    """Why a conversation needs a person (COMPLIANCE.md E1-E6 and operational reasons).

    The bot sends these in `custom.handoff.reason_code`; the gateway adds its own
    (tripwire hits are E3, bot_failure when Rasa or the action server is down).
    """

    DISPUTE = "E1"
    HUMAN_REQUESTED = "E2"  # complaint or an explicit 转人工
    DISTRESS = "E3"  # self-harm, serious illness, capacity doubts
    REPRESENTED = "E4"  # lawyer or debt adviser
    BEREAVEMENT = "E5"
    REVIEW_REQUIRED = "E6"  # time-barred, minor, complaint about an agency
    COMPLAINT = "complaint"  # a complaint the bot tells apart from a plain E2 request
    NEGOTIATION_FAILED = "negotiation_failed"
    VERIFICATION_LOCKED = "verification_locked"
    SERVICE_UNAVAILABLE = "service_unavailable"  # an action could not reach the api
    THIRD_PARTY = "third_party"  # debt-related third party: humans only (P2)
    BOT_FAILURE = "bot_failure"  # Rasa or the action server down or too slow
    # A promise-to-pay still broken after its one follow-up reminder (api/outreach/promises.py).
    BROKEN_PROMISE = "broken_promise"
    UNSPECIFIED = "unspecified"  # the bot asked for a person with a code we do not know


class CloseOutcome(StrEnum):
    """How a conversation ended (console and compliance reporting)."""

    RESOLVED = "resolved"
    PLAN_AGREED = "plan_agreed"
    DISPUTE_OPENED = "dispute_opened"
    REFERRED = "referred"  # to a lawyer, adviser, crisis service, estate…
    NO_RESPONSE = "no_response"
    RESTARTED = "restarted"  # the borrower started over (WeChat re-subscribe)
    OTHER = "other"


class Escalation(Base):
    """One request for a person. At most one is open (unresolved) per conversation;
    the collector queue orders open, unclaimed ones by urgency (1 = most urgent), then
    by age."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    reason_code: Mapped[ReasonCode] = mapped_column(String(32))
    urgency: Mapped[int]
    # Short English note from the bot or the gateway (e.g. the tripwire phrase).
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When Rasa confirmed the tracker pause; None means it has not (yet) succeeded.
    tracker_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_escalations_queue", "urgency", "created_at"),
        # Backstop for the state machine: never two open escalations for one conversation.
        Index(
            "uq_escalations_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )
