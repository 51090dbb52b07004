"""A collector's message to the borrower, delivered through the borrower's own channel."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.errors import ConversationNotFound
from api.gateway.errors import IllegalTransition, NotConversationHolder
from api.gateway.escalation import open_escalation
from api.gateway.hints import announce
from api.gateway.models import Channel, Conversation, ConversationState, Message, MessageStatus, Sender


async def deliver_agent_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    conversation_id: str,
    text: str,
    user_id: int,
    app_state: Any,
) -> Message:
    """Store a collector's message (人工客服) in the transcript and deliver it.

    - Allowed only while the conversation is in `agent` state and its open escalation is
      claimed by `user_id`: otherwise ConversationNotFound (404), IllegalTransition (409)
      or NotConversationHolder (403), and nothing is stored.
    - Stored in its own transaction as Message(sender=agent, template=None,
      payload={"user_id": user_id}, status=sent). `text` is stored as given: the caller
      validates it (1–2000 characters, no control characters, the language guard).
    - After the commit a hint goes on `app_state.events`: the borrower's web page (the
      SSE stream) and other console screens show it at once. For the web channel that
      is the whole delivery (status stays `sent`).
    - WeChat: sent as a 客服消息 with `app_state.wechat`; the stored status becomes
      `delivered`, `delivery_failed` (error in payload["delivery_error"]) or
      `window_closed` (48-hour service window), followed by a second hint.

    `app_state` is the FastAPI `app.state` (uses `.events` and `.wechat`). Returns the
    stored message, detached, with its final status. Never raises for a failed delivery:
    the failure is recorded on the message.
    """
    async with sessionmaker.begin() as session:
        conversation = await _writable_conversation(session, conversation_id, user_id)
        channel, openid = conversation.channel, conversation.external_user_id
        message = Message(
            conversation_id=conversation_id, sender=Sender.AGENT, text=text, template=None,
            payload={"user_id": user_id}, status=MessageStatus.SENT,
        )
        session.add(message)
    announce(app_state.events, conversation_id, message_id=message.id)
    if channel == Channel.WECHAT and openid:
        await app_state.wechat.push(openid, [message])  # records the outcome, announces it
        async with sessionmaker() as session:
            message = await session.get(Message, message.id)
    return message


async def _writable_conversation(session: AsyncSession, conversation_id: str, user_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    if conversation.state != ConversationState.AGENT:
        raise IllegalTransition(f"会话当前状态为 {conversation.state}，只有人工处理中的会话可以发送人工消息")
    escalation = await open_escalation(session, conversation_id)
    if escalation is None or escalation.claimed_by != user_id:
        raise NotConversationHolder()
    return conversation
