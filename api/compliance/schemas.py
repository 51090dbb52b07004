"""Compliance workspace contract (/api/v1/compliance)."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.compliance.models import DataRequestKind, DataRequestStatus, Verdict
from api.core.deps import UUID_PATTERN
from api.gateway.schemas import CONTROL_CHARACTERS

PG_INT_MAX = 2**31 - 1


def _printable(value: str) -> str:
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("包含无法显示的控制字符")
    return value


class ORM(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SearchHitOut(BaseModel):
    conversation_id: str
    channel: str
    state: str
    borrower_id: int | None
    created_at: datetime
    last_message_at: datetime | None
    message_count: int
    agreement_kinds: list[str]
    escalation_reasons: list[str]
    rule_ids: list[str]
    verdict: str | None
    snippet: str | None
    snippet_message_id: int | None


class SearchPageOut(BaseModel):
    items: list[SearchHitOut]
    total: int
    page: int
    page_size: int
    text_mode: str | None = Field(description="index, index+scan or scan (terms under 3 characters)")


class LineOut(BaseModel):
    id: int
    sender: str
    text: str
    masked: bool
    at: datetime
    at_local: datetime
    template: str | None
    model_version: str | None
    ai_generated: bool
    status: str
    handoff_reason: str | None
    tripwire: str | None
    guard_rule_ids: list[str]


class EventOut(BaseModel):
    seq: int
    at: datetime
    at_local: datetime
    actor: str
    action: str
    details: dict


class EscalationOut(ORM):
    id: int
    reason_code: str
    urgency: int
    note: str | None
    created_at: datetime
    claimed_by: int | None
    claimed_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None


class AgreementBriefOut(ORM):
    id: int
    kind: str
    status: str
    consent_text: str
    consent_message_id: int | None
    created_at: datetime


class FlagOut(ORM):
    rule_id: str
    detail: str
    message_id: int | None
    occurred_at: datetime


class ReviewOut(ORM):
    id: int
    reviewer_id: int
    verdict: Verdict
    comment: str
    created_at: datetime


class ConversationOut(BaseModel):
    id: str
    channel: str
    state: str
    borrower_id: int | None
    verified_at: datetime | None
    created_at: datetime
    close_outcome: str | None


class ComplianceTranscriptOut(BaseModel):
    conversation: ConversationOut
    timezone: str
    ai_label: str
    revealed: bool
    messages: list[LineOut]
    events: list[EventOut]
    escalations: list[EscalationOut]
    agreements: list[AgreementBriefOut]
    flags: list[FlagOut]
    reviews: list[ReviewOut]


class RevealIn(BaseModel):
    reason: str = Field(min_length=2, max_length=200, description="why the numbers are needed (audited)")

    _check = field_validator("reason")(classmethod(lambda cls, v: _printable(v)))


class ReviewIn(BaseModel):
    verdict: Verdict
    comment: str = Field(default="", max_length=2000)

    _check = field_validator("comment")(classmethod(lambda cls, v: _printable(v)))


class RefreshOut(BaseModel):
    checked: int
    recomputed: int
    flags: int
    by_rule: dict[str, int]


class CountOut(BaseModel):
    key: str
    count: int


class WeekCountOut(BaseModel):
    week: date
    key: str
    count: int


class DashboardOut(BaseModel):
    since: datetime
    until: datetime
    agreements_by_kind: list[CountOut]
    escalations_by_reason: list[CountOut]
    flags_per_week: list[WeekCountOut]
    guard_blocks_per_week: list[WeekCountOut]
    verdicts: list[CountOut]


class DataRequestIn(BaseModel):
    borrower_id: int = Field(ge=1, le=PG_INT_MAX)
    kind: DataRequestKind
    conversation_id: str | None = Field(default=None, pattern=UUID_PATTERN)
    note: str = Field(default="", max_length=500)

    _check = field_validator("note")(classmethod(lambda cls, v: _printable(v)))


class DataRequestOut(ORM):
    id: int
    borrower_id: int
    conversation_id: str | None
    kind: DataRequestKind
    status: DataRequestStatus
    note: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: int | None


class ResolveIn(BaseModel):
    reject: bool = False
    note: str = Field(default="", max_length=500)

    _check = field_validator("note")(classmethod(lambda cls, v: _printable(v)))


class ResolutionOut(BaseModel):
    request: DataRequestOut
    export: dict = Field(description="the borrower's transcripts (empty when rejected)")


class OutreachEntryOut(BaseModel):
    """One proactive reminder and what became of it (UTC and borrower-local times)."""

    id: int
    borrower_id: int
    loan_id: int
    agreement_id: int | None
    schedule_item_id: int | None
    kind: str
    template_key: str
    template: str | None = Field(description="template recorded on the stored message (A1)")
    status: str
    rule_id: str | None = Field(description="the rule that held or blocked it")
    detail: str | None
    checked_rules: list[str] = Field(description="rules the gate checked and passed when it was sent")
    channel: str | None
    delivery: str | None
    conversation_id: str | None
    message_id: int | None
    attempts: int
    last_error: str | None
    timezone: str
    at: datetime = Field(description="when it was sent, else when it was due (UTC)")
    at_local: datetime
    due_at: datetime
    due_at_local: datetime
    not_before: datetime
    not_before_local: datetime
    sent_at: datetime | None
    sent_at_local: datetime | None
    created_at: datetime
    updated_at: datetime
    flags: list[FlagOut] = Field(description="automatic flags: a send that broke a rule (rule_id)")


class OutreachLogOut(BaseModel):
    items: list[OutreachEntryOut]
    total: int
    page: int
    page_size: int
