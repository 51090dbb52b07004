"""After the console's transaction commits: wake the live streams and deliver what the
borrower must read through their own channel.

Web: the borrower's page streams new messages from the database, so a hint is the whole
delivery. WeChat: the message goes out as a 客服消息 inside the 48-hour window; its
outcome (delivered, failed, window closed) is written back onto the stored message.
Runs as a background task, i.e. after the response's transaction has committed.
"""

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.events import EventBus
from api.gateway.hints import announce
from api.gateway.models import Channel, Conversation, Message

log = logging.getLogger(__name__)


async def after_commit(
    *, sessionmaker: async_sessionmaker[AsyncSession], events: EventBus, wechat, conversation_id: str,
    message_ids: list[int], queue_changed: bool,
) -> None:
    announce(events, conversation_id, message_id=max(message_ids, default=None),
             queue_changed=queue_changed)
    if not message_ids:
        return
    async with sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        messages = [await session.get(Message, i) for i in message_ids]
    if conversation.channel == Channel.WECHAT and conversation.external_user_id:
        try:
            await wechat.push(conversation.external_user_id, messages)  # records each outcome
        except Exception:  # anything else is logged, not lost: the messages stay stored
            log.exception("WeChat delivery of console messages %s failed", message_ids)
