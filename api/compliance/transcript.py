"""The compliance reading of one conversation (A1, PD2).

Every party's messages in order with UTC and borrower-local time, who or what produced
them (AI label, template or model version), guard verdicts, handoffs, state changes and
escalations, agreements, flags and reviews. ID, phone and bank-card numbers are masked;
`reveal=True` shows them and is a separate audit event carrying the stated reason.
Each call is an audit event (transcript.viewed / transcript.revealed).
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement
from api.audit.models import AuditAction, AuditEvent
from api.audit.service import append
from api.compliance import flag_cache
from api.compliance.models import ComplianceFlag, Review
from api.core.errors import ConversationNotFound
from api.core.pii import mask_pii
from api.core.templates import render
from api.gateway.models import Conversation, Escalation, Message, Sender
from api.gateway.transcript import DEFAULT_TIMEZONE
from api.guard.language import check_message
from api.loans.models import Borrower

# Audit payload fields worth showing in the timeline (never free text a person typed).
EVENT_FIELDS = ("from", "to", "reason_code", "outcome", "source", "urgency", "escalation_id",
                "event", "ok", "rule_ids", "agreement_id", "kind")


@dataclass(frozen=True)
class Line:
    id: int
    sender: str
    text: str
    masked: bool  # the text had ID/phone/card numbers that are masked here
    at: datetime
    at_local: datetime
    template: str | None
    model_version: str | None
    ai_generated: bool
    status: str
    handoff_reason: str | None
    tripwire: str | None
    guard_rule_ids: list[str]


@dataclass(frozen=True)
class TimelineEvent:
    seq: int
    at: datetime
    at_local: datetime
    actor: str
    action: str
    details: dict


@dataclass(frozen=True)
class ComplianceTranscript:
    conversation: Conversation
    timezone: str
    ai_label: str
    revealed: bool
    lines: list[Line]
    events: list[TimelineEvent]
    escalations: list[Escalation]
    agreements: list[Agreement]
    flags: list[ComplianceFlag]
    reviews: list[Review]


def _model_version(m: Message, payload: dict, custom: dict) -> str | None:
    """Bot replies name their model in `template` ("rasa:model-<hash>", A1)."""
    if m.template and m.template.startswith("rasa:"):
        return m.template.split(":", 1)[1]
    return payload.get("model_version") or custom.get("model_version")


def _line(m: Message, zone: ZoneInfo, reveal: bool) -> Line:
    payload = m.payload or {}
    custom = payload.get("custom") if isinstance(payload.get("custom"), dict) else {}
    handoff = custom.get("handoff") if isinstance(custom.get("handoff"), dict) else {}
    masked_text = mask_pii(m.text)
    outbound = m.sender in (Sender.BOT, Sender.AGENT)
    return Line(
        id=m.id,
        sender=m.sender,
        text=m.text if reveal else masked_text,
        masked=masked_text != m.text and not reveal,
        at=m.created_at,
        at_local=m.created_at.astimezone(zone),
        template=m.template,
        model_version=_model_version(m, payload, custom),
        ai_generated=m.sender == Sender.BOT,
        status=m.status,
        handoff_reason=str(handoff["reason_code"]) if handoff.get("reason_code") else None,
        tripwire=payload.get("tripwire"),
        guard_rule_ids=sorted({v.rule_id for v in check_message(m.text)}) if outbound and m.text else [],
    )


async def borrower_zone(session: AsyncSession, conversation: Conversation) -> str:
    if conversation.borrower_id is None:
        return DEFAULT_TIMEZONE
    return await session.scalar(select(Borrower.timezone).where(Borrower.id == conversation.borrower_id)) or DEFAULT_TIMEZONE


async def read(
    session: AsyncSession, *, conversation_id: str, actor: str, reveal: bool = False,
    reason: str | None = None,
) -> ComplianceTranscript:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    await flag_cache.refresh_stale(session, [conversation_id])
    zone_name = await borrower_zone(session, conversation)
    zone = ZoneInfo(zone_name)
    messages = (await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id))).all()
    lines = [_line(m, zone, reveal) for m in messages]
    subject = f"conversation:{conversation_id}"
    events = [
        TimelineEvent(e.seq, e.at, e.at.astimezone(zone), e.actor, e.action,
                      {k: e.payload[k] for k in EVENT_FIELDS if k in (e.payload or {})})
        for e in (await session.scalars(
            select(AuditEvent).where(AuditEvent.subject == subject).order_by(AuditEvent.seq))).all()
    ]
    result = ComplianceTranscript(
        conversation=conversation, timezone=zone_name, ai_label=render("ai_label"), revealed=reveal,
        lines=lines, events=events,
        escalations=(await session.scalars(select(Escalation).where(
            Escalation.conversation_id == conversation_id).order_by(Escalation.id))).all(),
        agreements=(await session.scalars(select(Agreement).where(
            Agreement.conversation_id == conversation_id).order_by(Agreement.id))).all(),
        flags=(await session.scalars(select(ComplianceFlag).where(
            ComplianceFlag.conversation_id == conversation_id).order_by(ComplianceFlag.id))).all(),
        reviews=(await session.scalars(select(Review).where(
            Review.conversation_id == conversation_id).order_by(Review.id))).all(),
    )
    # Appended last: the chain lock is held until the transaction ends (api/audit).
    if reveal:
        await append(session, actor=actor, action=AuditAction.TRANSCRIPT_REVEALED, subject=subject,
                     payload={"messages": len(lines), "reason": reason or "",
                              "unmasked_message_ids": [m.id for m in messages if mask_pii(m.text) != m.text]})
    else:
        await append(session, actor=actor, action=AuditAction.TRANSCRIPT_VIEWED, subject=subject,
                     payload={"messages": len(lines), "masked": True, "view": "compliance"})
    return result
