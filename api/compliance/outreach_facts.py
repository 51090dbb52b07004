"""Loading what the outreach flags need (api/compliance/outreach_flags.py) from the
database: the proactive sends of a conversation, and for each intended borrower all
their sends, their preference history and their loans' pause history.

Sends are outreach rows that were stored (`sent_at` set: what the gate's T3 counts too),
at their `sent_at`; a proactive message without an outreach row counts at its own time.
Ownership (P1) is judged as delivery chooses a channel (api/outreach/delivery.py): the
conversation must belong to the intended borrower, a WeChat one must be the openid
bound to them, and no third party may have been reported in it before the send.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction, AuditEvent
from api.compliance.flags import OptOut
from api.compliance.outreach_flags import BorrowerOutreach, PauseChange, ProactiveSend
from api.gateway.models import Channel, Conversation, Message, Sender
from api.gateway.transcript import DEFAULT_TIMEZONE
from api.loans.models import Borrower, Loan
from api.outreach.models import OutreachMessage


def _time(value) -> time | None:
    return time.fromisoformat(value) if isinstance(value, str) and value else None


async def preference_timeline(session: AsyncSession, borrower_id: int | None) -> list[OptOut]:
    """The borrower's preferences after each preference.changed event (T2, T4)."""
    if borrower_id is None:
        return []
    events = (
        await session.execute(
            select(AuditEvent.at, AuditEvent.payload)
            .where(AuditEvent.subject == f"borrower:{borrower_id}",
                   AuditEvent.action == AuditAction.PREFERENCE_CHANGED)
            .order_by(AuditEvent.seq)
        )
    ).all()
    channels: frozenset[str] = frozenset()
    stop_all = False
    quiet_start = quiet_end = None
    timeline = []
    for at, payload in events:
        after = (payload or {}).get("after", {})  # only the fields that changed
        if "opted_out_channels" in after:
            channels = frozenset(after["opted_out_channels"] or [])
        if "stop_all" in after:
            stop_all = bool(after["stop_all"])
        if "quiet_start" in after:
            quiet_start = _time(after["quiet_start"])
        if "quiet_end" in after:
            quiet_end = _time(after["quiet_end"])
        timeline.append(OptOut(at=at, channels=channels, stop_all=stop_all,
                               quiet_start=quiet_start, quiet_end=quiet_end))
    return timeline


async def _pauses(session: AsyncSession, borrower_id: int) -> list[PauseChange]:
    loan_ids = (await session.scalars(select(Loan.id).where(Loan.borrower_id == borrower_id))).all()
    if not loan_ids:
        return []
    rows = (
        await session.execute(
            select(AuditEvent.at, AuditEvent.subject, AuditEvent.payload)
            .where(AuditEvent.action == AuditAction.LOAN_COLLECTION_PAUSE_CHANGED,
                   AuditEvent.subject.in_([f"loan:{i}" for i in loan_ids]))
            .order_by(AuditEvent.seq)
        )
    ).all()
    return [
        PauseChange(at=at, loan_id=int(subject.split(":", 1)[1]), paused=bool((payload or {}).get("paused")))
        for at, subject, payload in rows
    ]


def _history_send(row: OutreachMessage) -> ProactiveSend:
    return ProactiveSend(at=row.sent_at, message_id=row.message_id, outreach_id=row.id,
                         borrower_id=row.borrower_id, loan_id=row.loan_id, channel=row.channel or "web")


async def borrower_outreach(
    session: AsyncSession, borrower_ids: Iterable[int], *, extra_sends: Sequence[ProactiveSend] = ()
) -> dict[int | None, BorrowerOutreach]:
    """Each borrower's outreach facts; `extra_sends` (proactive messages without an
    outreach row) count in their borrower's history too."""
    found: dict[int | None, BorrowerOutreach] = {}
    for borrower_id in sorted(set(borrower_ids)):
        zone = await session.scalar(select(Borrower.timezone).where(Borrower.id == borrower_id))
        rows = (await session.scalars(
            select(OutreachMessage).where(OutreachMessage.borrower_id == borrower_id,
                                          OutreachMessage.sent_at.is_not(None))
        )).all()
        found[borrower_id] = BorrowerOutreach(
            timezone=zone or DEFAULT_TIMEZONE,
            sends=[*map(_history_send, rows), *(s for s in extra_sends if s.borrower_id == borrower_id)],
            preferences=await preference_timeline(session, borrower_id),
            pauses=await _pauses(session, borrower_id),
        )
    return found


async def _third_party_reported_at(session: AsyncSession, conversation_id: str) -> datetime | None:
    return await session.scalar(
        select(AuditEvent.at)
        .where(AuditEvent.subject == f"conversation:{conversation_id}",
               AuditEvent.action == AuditAction.THIRD_PARTY_REPORTED)
        .order_by(AuditEvent.seq)
        .limit(1)
    )


async def _not_own(
    session: AsyncSession, conversation: Conversation, borrower_id: int | None, at: datetime,
    third_party_at: datetime | None,
) -> str | None:
    if borrower_id is None:
        return None  # a proactive message nobody was meant for: nothing to compare
    if conversation.borrower_id is None:
        return "会话未关联任何已核实的借款人"
    if conversation.borrower_id != borrower_id:
        return f"会话属于其他借款人（{conversation.borrower_id}）"
    if conversation.channel == Channel.WECHAT:
        openid = await session.scalar(select(Borrower.wechat_openid).where(Borrower.id == borrower_id))
        if not openid or conversation.external_user_id != openid:
            return "微信账号不是借款人本人绑定的账号"
    if third_party_at is not None and third_party_at <= at:
        return "该会话中已报告对方不是借款人本人（第三方）"
    return None


async def load_sends(
    session: AsyncSession, conversation: Conversation, messages: Sequence[Message]
) -> tuple[list[ProactiveSend], dict[int | None, BorrowerOutreach]]:
    """The conversation's proactive sends and their intended borrowers' facts."""
    proactive = [m for m in messages if m.sender == Sender.BOT and (m.payload or {}).get("proactive")]
    if not proactive:
        return [], {}
    rows = {
        r.message_id: r for r in (await session.scalars(
            select(OutreachMessage).where(OutreachMessage.message_id.in_([m.id for m in proactive]))
        )).all()
    }
    third_party_at = await _third_party_reported_at(session, conversation.id)
    sends, unlinked = [], []
    for m in proactive:
        row = rows.get(m.id)
        borrower_id = row.borrower_id if row is not None else conversation.borrower_id
        at = row.sent_at if row is not None and row.sent_at is not None else m.created_at
        send = ProactiveSend(
            at=at, message_id=m.id, outreach_id=row.id if row is not None else None, borrower_id=borrower_id,
            loan_id=row.loan_id if row is not None else None, channel=str(conversation.channel),
            not_own_channel=await _not_own(session, conversation, borrower_id, at, third_party_at),
        )
        sends.append(send)
        if row is None or row.sent_at is None:
            unlinked.append(send)
    ids = {s.borrower_id for s in sends if s.borrower_id is not None}
    return sends, await borrower_outreach(session, ids, extra_sends=unlinked)
