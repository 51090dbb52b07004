"""Conversations and their single transcript, whoever spoke and on whichever channel."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
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
    SENT = "sent"  # outbound, returned to the borrower's channel


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[Channel] = mapped_column(String(16))
    state: Mapped[ConversationState] = mapped_column(
        String(24), default=ConversationState.BOT
    )
    session_token_hash: Mapped[str] = mapped_column(String(64))
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
