"""Public chat contract (web chat page and integrations)."""

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from api.gateway.models import Channel, ConversationState, Sender


# C0 controls other than tab and newlines: never typed by a person, and NUL cannot be
# stored in PostgreSQL text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SessionIn(BaseModel):
    channel: Literal[Channel.WEB] = Channel.WEB


class MessageOut(BaseModel):
    id: int  # the transcript's order; the live stream's event id (de-duplicate by it)
    sender: Sender
    text: str
    at: datetime


class StreamMessageOut(MessageOut):
    """data of an `event: message` on the live stream."""

    state: ConversationState


class StreamStateOut(BaseModel):
    """data of an `event: state` on the live stream."""

    state: ConversationState


class AssistantOut(BaseModel):
    lender_name: str
    ai_label: str
    hotline: str


class SessionOut(BaseModel):
    conversation_id: str
    session_token: str
    state: ConversationState
    assistant: AssistantOut
    messages: list[MessageOut]


class BorrowerMessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("消息不能为空")
        if CONTROL_CHARACTERS.search(value):
            raise ValueError("消息包含无法显示的控制字符")
        return value


class RepliesOut(BaseModel):
    messages: list[MessageOut]
    state: ConversationState


class TranscriptLineOut(BaseModel):
    id: int
    sender: Sender
    text: str
    at: datetime
    at_local: datetime
    template: str | None
    status: str


class TranscriptOut(BaseModel):
    conversation_id: str
    channel: Channel
    state: ConversationState
    timezone: str
    ai_label: str
    messages: list[TranscriptLineOut]
