"""Outreach contract for staff: the outreach log and the lender's pause flag."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class OutreachOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    borrower_id: int
    loan_id: int
    schedule_item_id: int | None
    agreement_id: int | None
    kind: str
    source_key: str
    template_key: str
    status: str
    due_at: datetime
    not_before: datetime
    expires_at: datetime | None
    attempts: int
    rule_id: str | None  # the rule behind the hold or block (T1-T5, P3, O5, E1-E6)
    detail: str | None
    checked_rules: list[str] | None
    channel: str | None
    delivery: str | None
    conversation_id: str | None
    message_id: int | None
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime


class CollectionPauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paused: bool
    reason: str = Field(min_length=1, max_length=200)


class CollectionPauseOut(BaseModel):
    loan_id: int
    borrower_id: int
    collection_paused: bool
