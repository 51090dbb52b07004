"""Delivering a reminder through the borrower's own channel.

Two steps, on either side of the commit (CONVENTIONS: side effects after commit):

1. Inside the worker's send transaction: `target_for` / `resolve_target` pick the
   borrower's channel and conversation — their open WeChat conversation (by the openid
   bound at verification) or their latest open, verified web conversation; with none, a
   new conversation for them that the reminder opens (it carries the D1 disclosure
   itself). `store_reminder` adds the reminder as a bot message with payload
   {"proactive": true, "outreach_id", "kind", ...} — what the compliance T1/T4 flags and
   the bot's reply context read. For web that is the whole delivery (`planned_delivery`:
   web, or inbox when nobody has the new conversation open).
2. After the commit: a hint on the live-update bus (api/gateway/hints.py) so an open web
   page shows it at once; for WeChat `push_reminder` sends a 客服消息 inside the 48-hour
   service window, else a 模板消息 when WECHAT_REMINDER_TEMPLATE_ID is set, else the
   reminder waits in the conversation (inbox). The outcome is written onto the stored
   message (delivered / delivery_failed / window_closed), like every other WeChat push.

A reminder never goes anywhere but the borrower's own channel (P1/P3): there is no code
path here that takes a phone number, a contact or a third party.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.events import EventBus
from api.core.security import new_session_token, token_hash
from api.gateway.hints import announce
from api.gateway.models import Channel, Conversation, ConversationState, Message, MessageStatus, Sender
from api.gateway.wechat.client import WeChatApiClient, WeChatApiError
from api.loans.models import Borrower
from api.outreach.models import OutreachDelivery, OutreachMessage
from api.outreach.templates import Reminder

# WeChat errors worth another try later (system busy, rate limits, transport failures);
# anything else (e.g. the user unsubscribed, 43004) will not get better by retrying.
RETRYABLE_WECHAT_ERRORS = frozenset({None, -1, 45009, 45047})
# Token expired / invalid: fetch a new one and retry once (as the client's send_text does).


@dataclass(frozen=True)
class ChannelTarget:
    """Where a reminder for one borrower goes. `conversation_id` None: a new one."""

    channel: Channel
    conversation_id: str | None
    openid: str | None
    borrowers_own: bool  # P3: the borrower's own channel, bound to them by verification


@dataclass(frozen=True)
class PushResult:
    delivery: OutreachDelivery
    message_status: MessageStatus
    error: str | None = None
    retryable: bool = False
    attempted: bool = False  # True when a channel API was called

    @property
    def failed(self) -> bool:
        return self.error is not None


def wechat_conversation_id(openid):
    """The openid's open WeChat conversation (a scalar subquery; `openid` may be a value
    or a correlated column such as Borrower.wechat_openid)."""
    return (
        select(Conversation.id)
        .where(
            Conversation.channel == Channel.WECHAT,
            Conversation.external_user_id == openid,
            Conversation.state != ConversationState.CLOSED,
        )
        .order_by(Conversation.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def web_conversation_id(borrower_id):
    """The borrower's latest open, verified web conversation (a scalar subquery)."""
    return (
        select(Conversation.id)
        .where(
            Conversation.channel == Channel.WEB,
            Conversation.borrower_id == borrower_id,
            Conversation.verified_at.is_not(None),
            Conversation.state != ConversationState.CLOSED,
        )
        .order_by(Conversation.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def target_for(borrower: Borrower, *, wechat_conversation: str | None, web_conversation: str | None) -> ChannelTarget:
    """The borrower's channel: WeChat when an openid is bound to them (only verification
    binds one), else web. Never a conversation that is not theirs (P1/P3)."""
    if borrower.wechat_openid:
        return ChannelTarget(Channel.WECHAT, wechat_conversation, borrower.wechat_openid, borrowers_own=True)
    return ChannelTarget(Channel.WEB, web_conversation, None, borrowers_own=True)


async def resolve_target(session: AsyncSession, borrower: Borrower) -> ChannelTarget:
    """Where a reminder for `borrower` goes now (see `target_for`)."""
    wechat = web = None
    if borrower.wechat_openid:
        wechat = await session.scalar(select(wechat_conversation_id(borrower.wechat_openid)))
    else:
        web = await session.scalar(select(web_conversation_id(borrower.id)))
    return target_for(borrower, wechat_conversation=wechat, web_conversation=web)


def planned_delivery(target: ChannelTarget) -> OutreachDelivery | None:
    """For web the delivery is known when the reminder is stored (the page streams it; a
    new conversation is an inbox nobody has open). None: WeChat, decided by the push."""
    if target.channel == Channel.WECHAT:
        return None
    return OutreachDelivery.WEB if target.conversation_id is not None else OutreachDelivery.INBOX


async def store_reminder(
    session: AsyncSession,
    *,
    borrower: Borrower,
    target: ChannelTarget,
    reminder: Reminder,
    outreach: OutreachMessage,
    now: datetime,
) -> Message:
    """Add the reminder to the borrower's conversation (flush only); returns the message."""
    conversation_id = target.conversation_id
    if conversation_id is None:
        conversation_id = await _open_conversation(session, borrower=borrower, target=target, now=now)
    message = Message(
        conversation_id=conversation_id,
        sender=Sender.BOT,
        text=reminder.text,
        template=reminder.template_name,
        payload={
            **(outreach.payload or {}),
            "proactive": True,
            "outreach_id": outreach.id,
            "kind": str(outreach.kind),
            "template_version": reminder.version,
        },
        status=MessageStatus.SENT,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    return message


async def _open_conversation(
    session: AsyncSession, *, borrower: Borrower, target: ChannelTarget, now: datetime
) -> str:
    """A conversation for the borrower that the reminder opens. WeChat: the borrower's
    next message lands in it (one open conversation per openid) and it counts as verified,
    as every conversation of a bound openid does. Web: nobody holds its session token, so
    it is an inbox that records the reminder; it is not verified (P4)."""
    conversation = Conversation(
        id=str(uuid.uuid4()),
        channel=target.channel,
        state=ConversationState.BOT,
        session_token_hash=token_hash(new_session_token()),
        external_user_id=target.openid,
        borrower_id=borrower.id,
        verified_at=now if target.channel == Channel.WECHAT else None,
        created_at=now,
    )
    session.add(conversation)
    await session.flush()
    return conversation.id


async def push_reminder(
    session: AsyncSession,
    *,
    outreach: OutreachMessage,
    reminder: Reminder,
    settings,
    wechat: WeChatApiClient | None,
    now: datetime,
) -> PushResult:
    """Push a stored WeChat reminder through WeChat and record the outcome on its message
    (flush only; the caller commits and then calls `announce_reminder`). Web reminders
    need no push: their delivery is `planned_delivery`."""
    message = await session.get(Message, outreach.message_id)
    if outreach.channel != Channel.WECHAT:
        raise ValueError("only WeChat reminders are pushed")
    result = await _push_wechat(session, outreach=outreach, reminder=reminder, settings=settings,
                                wechat=wechat, now=now)
    message.status = result.message_status
    if result.error:
        message.payload = {**(message.payload or {}), "delivery_error": result.error[:500]}
    await session.flush()
    return result


def announce_reminder(events: EventBus | None, outreach: OutreachMessage) -> None:
    """After the commit: the borrower's open page and the console re-read the conversation."""
    if events is not None and outreach.conversation_id:
        announce(events, outreach.conversation_id, message_id=outreach.message_id)


async def _push_wechat(
    session: AsyncSession, *, outreach: OutreachMessage, reminder: Reminder, settings,
    wechat: WeChatApiClient | None, now: datetime,
) -> PushResult:
    borrower = await session.get(Borrower, outreach.borrower_id)
    openid = borrower.wechat_openid
    if wechat is None or not openid:
        return PushResult(OutreachDelivery.INBOX, MessageStatus.NOT_SENT_WINDOW_CLOSED)
    if await wechat_window_open(session, openid=openid, now=now, settings=settings):
        delivery, send = OutreachDelivery.WECHAT_SERVICE, wechat.send_text(openid, reminder.text)
    elif settings.wechat_reminder_template_id:
        delivery = OutreachDelivery.WECHAT_TEMPLATE
        send = wechat.send_template(openid, template_id=settings.wechat_reminder_template_id,
                                     fields=reminder.wechat_fields)
    else:
        return PushResult(OutreachDelivery.INBOX, MessageStatus.NOT_SENT_WINDOW_CLOSED)
    try:
        await send
    except WeChatApiError as exc:
        return PushResult(delivery, MessageStatus.DELIVERY_FAILED, error=str(exc),
                          retryable=exc.errcode in RETRYABLE_WECHAT_ERRORS, attempted=True)
    return PushResult(delivery, MessageStatus.DELIVERED, attempted=True)


async def wechat_window_open(session: AsyncSession, *, openid: str, now: datetime, settings) -> bool:
    """WeChat accepts 客服消息 only within N hours of the user's last message to us, on
    whichever of their conversations it was written."""
    last = await session.scalar(
        select(Message.created_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.channel == Channel.WECHAT,
            Conversation.external_user_id == openid,
            Message.sender == Sender.BORROWER,
        )
        .order_by(Message.created_at.desc())
        .limit(1)
    )
    window = timedelta(hours=settings.wechat_service_window_hours)
    return last is not None and now - last < window
