"""Flags as stored data: load a conversation's facts, evaluate the rules
(api/compliance/flags.py), replace its rows in `compliance_flags`, and remember the
fingerprint of what they were computed from so only changed conversations are redone.
Search and the dashboard read the table; a rule change recomputes with `force=True`.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement
from api.compliance.flags import Facts, Flag, evaluate
from api.compliance.models import ComplianceFlag, FlagScan
from api.compliance.outreach_facts import load_sends, preference_timeline
from api.compliance.outreach_flags import OutreachRules
from api.core.config import get_settings
from api.core.db import utcnow
from api.gateway.models import Conversation, Escalation, Message
from api.gateway.transcript import DEFAULT_TIMEZONE
from api.loans.models import Borrower


def default_rules() -> OutreachRules:
    """The outreach settings of this process (one Settings per process, as the worker's)."""
    return OutreachRules.from_settings(get_settings())


async def load_facts(
    session: AsyncSession, conversation: Conversation, *, rules: OutreachRules | None = None
) -> Facts:
    cid = conversation.id
    messages = (await session.scalars(select(Message).where(Message.conversation_id == cid).order_by(Message.id))).all()
    escalations = (await session.scalars(select(Escalation).where(Escalation.conversation_id == cid))).all()
    agreements = (await session.scalars(select(Agreement).where(Agreement.conversation_id == cid))).all()
    zone = DEFAULT_TIMEZONE
    if conversation.borrower_id is not None:
        zone = await session.scalar(select(Borrower.timezone).where(Borrower.id == conversation.borrower_id))
    sends, outreach = await load_sends(session, conversation, messages)
    return Facts(
        conversation=conversation, messages=messages, escalations=escalations,
        agreements=agreements, opt_outs=await preference_timeline(session, conversation.borrower_id),
        timezone=zone or DEFAULT_TIMEZONE, sends=sends, outreach=outreach,
        outreach_rules=rules or default_rules(),
    )


async def fingerprints(session: AsyncSession, conversation_ids: Sequence[str] | None = None) -> dict[str, str]:
    """What each conversation's flags depend on: its messages (last id and count), its
    escalations and agreements, and its verification time."""

    def scoped(query, column):
        return query.where(column.in_(conversation_ids)) if conversation_ids is not None else query

    msgs = dict(
        (cid, f"{last}:{n}")
        for cid, last, n in (await session.execute(scoped(
            select(Message.conversation_id, func.max(Message.id), func.count(Message.id))
            .group_by(Message.conversation_id), Message.conversation_id))).all()
    )
    escs = dict((await session.execute(scoped(
        select(Escalation.conversation_id, func.count(Escalation.id)).group_by(Escalation.conversation_id),
        Escalation.conversation_id))).all())
    agrs = dict((await session.execute(scoped(
        select(Agreement.conversation_id, func.count(Agreement.id)).group_by(Agreement.conversation_id),
        Agreement.conversation_id))).all())
    convs = (await session.execute(scoped(
        select(Conversation.id, Conversation.verified_at, Conversation.borrower_id), Conversation.id))).all()
    return {
        cid: hashlib.sha256(
            f"{msgs.get(cid)}|{escs.get(cid, 0)}|{agrs.get(cid, 0)}|{verified}|{borrower}".encode()
        ).hexdigest()
        for cid, verified, borrower in convs
    }


async def refresh(session: AsyncSession, conversation: Conversation, fingerprint: str | None = None) -> list[Flag]:
    """Recompute and store one conversation's flags (flush only)."""
    if fingerprint is None:
        fingerprint = (await fingerprints(session, [conversation.id]))[conversation.id]
    flags = evaluate(await load_facts(session, conversation))
    await session.execute(delete(ComplianceFlag).where(ComplianceFlag.conversation_id == conversation.id))
    now = utcnow()
    session.add_all(
        ComplianceFlag(conversation_id=conversation.id, rule_id=f.rule_id, message_id=f.message_id,
                       detail=f.detail, occurred_at=f.occurred_at, computed_at=now)
        for f in flags
    )
    scan = await session.get(FlagScan, conversation.id)
    if scan is None:
        session.add(FlagScan(conversation_id=conversation.id, fingerprint=fingerprint, computed_at=now))
    else:
        scan.fingerprint, scan.computed_at = fingerprint, now
    await session.flush()
    return flags


@dataclass
class RefreshReport:
    checked: int = 0
    recomputed: int = 0
    flags: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


async def refresh_stale(
    session: AsyncSession, conversation_ids: Sequence[str] | None = None, *, force: bool = False
) -> RefreshReport:
    """Recompute the flags of every conversation whose facts changed since last time
    (all of them the first time). Opt-outs are read fresh on each recompute; an opt-out
    alone does not mark a conversation stale; a full run (`force=True`) catches it."""
    current = await fingerprints(session, conversation_ids)
    stored = dict((await session.execute(select(FlagScan.conversation_id, FlagScan.fingerprint))).all())
    report = RefreshReport(checked=len(current))
    stale = [cid for cid, fp in current.items() if force or stored.get(cid) != fp]
    for cid in stale:
        conversation = await session.get(Conversation, cid)
        flags = await refresh(session, conversation, current[cid])
        report.recomputed += 1
        report.flags += len(flags)
        for f in flags:
            report.by_rule[f.rule_id] = report.by_rule.get(f.rule_id, 0) + 1
    return report
