"""Conversations and their single transcript, whoever spoke and on whichever channel."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
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
