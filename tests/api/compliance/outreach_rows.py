"""Builders for outreach rows and the reminders they stored (outreach log, flags, promise
follow-ups and reply-context tests). Rows are written as the engine leaves them."""

import itertools
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.gateway.models import Channel, Conversation, ConversationState, Message, MessageStatus, Sender
from api.loans.models import Borrower, Loan
from api.outreach.models import OutreachMessage, OutreachStatus

_keys = itertools.count(1)
# Like the engine's templates: it may open a conversation, so it carries the D1 markers.
REMINDER_TEXT = ("您好，我是测试普惠小额贷款有限公司的AI助手（本消息由人工智能生成）。您有一笔还款事宜需要确认，"
                 "请直接回复本消息，完成身份核实后我会为您说明。本对话会被记录并依法保存。如需人工服务，请回复“转人工”。")


async def make_borrower_conversation(
    session: AsyncSession, *, borrower: Borrower | None, channel: Channel = Channel.WEB,
    started: datetime, external_user_id: str | None = None,
) -> Conversation:
    conversation = Conversation(
        id=str(uuid.uuid4()), channel=channel, state=ConversationState.BOT, session_token_hash="0" * 64,
        borrower_id=borrower.id if borrower else None, external_user_id=external_user_id, created_at=started,
    )
    session.add(conversation)
    await session.flush()
    return conversation


async def make_outreach(
    session: AsyncSession,
    *,
    loan: Loan,
    kind: str = "due_today",
    status: OutreachStatus = OutreachStatus.SENT,
    at: datetime,
    conversation: Conversation | None = None,
    channel: str | None = None,
    rule_id: str | None = None,
    detail: str | None = None,
    agreement_id: int | None = None,
    source_key: str | None = None,
    text: str = REMINDER_TEXT,
    message_status: MessageStatus = MessageStatus.SENT,
) -> OutreachMessage:
    """One outreach row. A sent row with a conversation also stores its reminder message
    (payload proactive: true), created at `at`, as delivery does."""
    row = OutreachMessage(
        borrower_id=loan.borrower_id, loan_id=loan.id, agreement_id=agreement_id, kind=kind,
        source_key=source_key or f"test:{next(_keys)}:{uuid.uuid4().hex[:8]}", template_key=kind,
        status=status, due_at=at - timedelta(minutes=5), not_before=at, rule_id=rule_id, detail=detail,
        channel=channel or (conversation.channel if conversation is not None else None),
        delivery="web" if status == OutreachStatus.SENT else None,
        conversation_id=conversation.id if conversation is not None else None,
        sent_at=at if status == OutreachStatus.SENT else None, created_at=at - timedelta(minutes=5),
        updated_at=at, payload={"kind": kind},
    )
    session.add(row)
    await session.flush()
    if status == OutreachStatus.SENT and conversation is not None:
        message = Message(
            conversation_id=conversation.id, sender=Sender.BOT, text=text, template=f"outreach:{kind}",
            payload={"proactive": True, "outreach_id": row.id, "kind": kind}, status=message_status,
            created_at=at,
        )
        session.add(message)
        await session.flush()
        row.message_id = message.id
    await session.commit()
    return row
