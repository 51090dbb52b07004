"""The WeChat channel: one conversation per openid, every message stored first, the
bot's answer as a passive reply when it is ready in time, else pushed as 客服消息.

Every commit that adds a message or changes a conversation's state is followed by a hint
on the live-update bus, so the collector console sees WeChat conversations live too."""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.config import Settings
from api.core.events import EventBus
from api.core.db import utcnow
from api.core.templates import render
from api.gateway.models import (
    Channel,
    CloseOutcome,
    Conversation,
    ConversationState,
    Message,
    MessageStatus,
    Sender,
)
from api.gateway.rasa_client import RasaClient
from api.gateway.escalation import close
from api.gateway.hints import announce
from api.gateway.service import (
    Inbound,
    open_session,
    opening_disclosure,
    route_inbound,
    store_inbound,
)
from api.gateway.wechat import protocol
from api.gateway.wechat.client import WeChatApiClient, WeChatApiError
from api.loans.models import Borrower

log = logging.getLogger(__name__)

SUCCESS = "success"  # WeChat's "received, no passive reply" answer
MEDIA_LABELS = {"image": "[图片]", "voice": "[语音]", "video": "[视频]",
                "shortvideo": "[小视频]", "location": "[位置]", "link": "[链接]"}


@dataclass
class WeChatChannel:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    rasa: RasaClient
    api: WeChatApiClient
    events: EventBus
    # Deliveries still running after their request was answered; awaited at shutdown.
    pending: set[asyncio.Task] = field(default_factory=set)

    async def handle(self, query: protocol.SignedQuery, body: bytes) -> str:
        """Answer one signed POST: passive reply XML, or "success"."""
        protocol.verify_signed_query(self.settings, query)
        message = protocol.parse(protocol.decode_body(self.settings, query, body))
        openid = message.source
        if message.type == "text":
            text = await self._on_text(openid, message.content, str(message.id))
        elif message.type in MEDIA_LABELS:
            text = await self._on_media(openid, message.type, str(message.id))
        elif message.type == "event" and message.event == "subscribe":
            text = await self._on_subscribe(openid)
        else:
            return SUCCESS
        if not text:
            return SUCCESS
        return protocol.passive_reply(self.settings, query, message, text)

    async def _conversation(self, session: AsyncSession, openid: str) -> tuple[Conversation, list[Message]]:
        conversation = await session.scalar(
            select(Conversation)
            .where(
                Conversation.channel == Channel.WECHAT,
                Conversation.external_user_id == openid,
                Conversation.state != ConversationState.CLOSED,
            )
            .order_by(Conversation.created_at.desc())
            .limit(1)
        )
        if conversation is not None:
            return conversation, []
        opened = await open_session(
            session, channel=Channel.WECHAT, settings=self.settings, external_user_id=openid
        )
        # An openid verified once is remembered (P4 stays satisfied: WeChat vouches
        # that this is the same account that passed verification before).
        borrower_id = await session.scalar(select(Borrower.id).where(Borrower.wechat_openid == openid))
        if borrower_id is not None:
            opened.conversation.borrower_id = borrower_id
            opened.conversation.verified_at = utcnow()
        return opened.conversation, opened.messages

    async def _store(self, openid: str, text: str, msg_id: str) -> tuple[Inbound, list[Message]] | None:
        try:
            async with self.sessionmaker.begin() as session:
                conversation, opening = await self._conversation(session, openid)
                inbound = await store_inbound(
                    session, conversation=conversation, text=text, channel_message_id=msg_id
                )
        except IntegrityError:
            return None  # the same MsgId raced in on another request: already stored
        if inbound.duplicate:
            return None
        announce(self.events, inbound.conversation_id, message_id=inbound.message_id)
        return inbound, opening

    async def _on_text(self, openid: str, text: str, msg_id: str) -> str | None:
        stored = await self._store(openid, text, msg_id)
        if stored is None:
            return None  # a WeChat retry: the first request answers it
        inbound, opening = stored
        turn = asyncio.create_task(
            route_inbound(self.sessionmaker, inbound=inbound, text=text, rasa=self.rasa,
                          settings=self.settings, events=self.events)
        )
        await asyncio.wait({turn}, timeout=self.settings.wechat_passive_reply_seconds)
        if turn.done():
            return _joined([*opening, *turn.result().messages])
        # Too slow for a passive reply: answer "success" now and push the reply when the
        # bot is done. No await between the check above and this callback, so no race.
        self._track(turn)
        turn.add_done_callback(lambda done: self._after_slow_turn(openid, opening, done))
        return None

    def _after_slow_turn(self, openid: str, opening: list[Message], turn: asyncio.Task) -> None:
        if turn.cancelled() or turn.exception() is not None:
            # The borrower's message is stored (status received): it is not lost, and
            # the failure is in the log for an operator.
            log.error("WeChat turn for %s failed", openid, exc_info=turn.exception())
            return
        self._spawn(self.push(openid, [*opening, *turn.result().messages]))

    async def _on_media(self, openid: str, kind: str, msg_id: str) -> str | None:
        stored = await self._store(openid, MEDIA_LABELS[kind], msg_id)
        if stored is None:
            return None
        inbound, opening = stored
        reply = Message(
            conversation_id=inbound.conversation_id,
            sender=Sender.SYSTEM,
            text=render("wechat_unsupported_media", lender_hotline=self.settings.lender_hotline),
            template="wechat_unsupported_media",
            status=MessageStatus.SENT,
        )
        async with self.sessionmaker.begin() as session:
            session.add(reply)
        announce(self.events, inbound.conversation_id, message_id=reply.id)
        return _joined([*opening, reply])

    async def _on_subscribe(self, openid: str) -> str:
        closed_id = None
        async with self.sessionmaker.begin() as session:
            conversation, opening = await self._conversation(session, openid)
            if opening:
                return _joined(opening)
            if conversation.state == ConversationState.BOT:
                closed_id = conversation.id
                # Re-subscribed: a new beginning. The old conversation is closed through
                # the state machine (audited) and a new one discloses again (D1).
                await close(session, conversation_id=conversation.id,
                            outcome=CloseOutcome.RESTARTED, actor="system")
                opened = await open_session(
                    session, channel=Channel.WECHAT, settings=self.settings, external_user_id=openid
                )
                opening = opened.messages
            else:
                # A person has, or is about to take, this conversation: keep it and its
                # place in the queue (an E3 escalation must not vanish); disclose again.
                opening = [opening_disclosure(conversation.id, self.settings)]
                session.add_all(opening)
        if closed_id is not None:
            announce(self.events, closed_id, message_id=None)
        announce(self.events, opening[-1].conversation_id, message_id=opening[-1].id)
        return _joined(opening)

    def _spawn(self, coroutine) -> None:
        self._track(asyncio.create_task(coroutine))

    def _track(self, task: asyncio.Task) -> None:
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def push(self, openid: str, messages: list[Message]) -> None:
        """Send through the customer-service API inside the service window; record the
        outcome of every message (delivered, delivery_failed with the error in its
        payload, window_closed), including failures (never silently dropped)."""
        for message in messages:
            status, error = MessageStatus.DELIVERED, None
            if not await self._window_open(message.conversation_id):
                status = MessageStatus.NOT_SENT_WINDOW_CLOSED
            else:
                try:
                    await self.api.send_text(openid, message.text)
                except WeChatApiError as exc:
                    status, error = MessageStatus.DELIVERY_FAILED, str(exc)
            async with self.sessionmaker.begin() as session:
                stored = await session.get(Message, message.id)
                stored.status = status
                if error:
                    stored.payload = {**(stored.payload or {}), "delivery_error": error[:500]}
            # The console shows each message's delivery status.
            announce(self.events, message.conversation_id, message_id=message.id)

    _push = push  # the name api/console/delivery.py calls

    async def _window_open(self, conversation_id: str) -> bool:
        """WeChat accepts 客服消息 only within 48 h of the user's last message."""
        async with self.sessionmaker() as session:
            last = await session.scalar(
                select(Message.created_at)
                .where(Message.conversation_id == conversation_id, Message.sender == Sender.BORROWER)
                .order_by(Message.id.desc())
                .limit(1)
            )
        window = timedelta(hours=self.settings.wechat_service_window_hours)
        return last is not None and utcnow() - last < window

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for turns and pushes still running (a finished turn spawns its push)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.pending:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await asyncio.wait(set(self.pending), timeout=remaining)


def _joined(messages: list[Message]) -> str:
    # A passive reply carries one text: the messages in order, a blank line apart.
    return "\n\n".join(m.text for m in messages if m.text)
