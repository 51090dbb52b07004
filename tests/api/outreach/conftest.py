"""Outreach tests: the embedded loop is off (each test drives the worker itself with a
frozen clock), and builders for borrowers with a channel."""

import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.gateway.models import Channel, Conversation, ConversationState, Message, MessageStatus, Sender
from api.loans.models import Borrower, ScheduleItemStatus
from api.outreach.worker import OutreachWorker
from tests.api.payments.builders import make_borrower, make_loan
from tests.api.users.builders import fast_password_hashing  # noqa: F401  (autouse)

UTC = timezone.utc


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"outreach_scheduler": "off"})


def at_local(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A borrower-local wall-clock moment, as UTC."""
    from zoneinfo import ZoneInfo

    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


async def make_web_borrower(
    session: AsyncSession, *, zone: str = "Asia/Shanghai", verified_at: datetime | None = None,
    conversation: bool = True,
) -> tuple[Borrower, str | None]:
    """A borrower with (by default) an open, verified web conversation."""
    borrower = await make_borrower(session, timezone=zone)
    if not conversation:
        return borrower, None
    conversation_id = str(uuid.uuid4())
    session.add(Conversation(
        id=conversation_id, channel=Channel.WEB, state=ConversationState.BOT,
        session_token_hash=uuid.uuid4().hex, borrower_id=borrower.id,
        verified_at=verified_at or datetime(2026, 1, 1, tzinfo=UTC),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    ))
    await session.commit()
    return borrower, conversation_id


async def make_wechat_borrower(
    session: AsyncSession, *, openid: str, zone: str = "Asia/Shanghai",
    last_inbound_at: datetime | None = None, conversation: bool = True,
) -> tuple[Borrower, str | None]:
    """A borrower whose WeChat openid was bound at verification, with (by default) an
    open WeChat conversation; `last_inbound_at` adds a borrower message at that time (the
    48-hour service window)."""
    borrower = await make_borrower(session, timezone=zone)
    borrower.wechat_openid = openid
    if not conversation:
        await session.commit()
        return borrower, None
    conversation_id = str(uuid.uuid4())
    session.add(Conversation(
        id=conversation_id, channel=Channel.WECHAT, state=ConversationState.BOT,
        session_token_hash=uuid.uuid4().hex, external_user_id=openid, borrower_id=borrower.id,
        verified_at=datetime(2026, 1, 1, tzinfo=UTC), created_at=datetime(2026, 1, 1, tzinfo=UTC),
    ))
    await session.flush()
    if last_inbound_at is not None:
        session.add(Message(
            conversation_id=conversation_id, sender=Sender.BORROWER, text="你好",
            status=MessageStatus.ROUTED, created_at=last_inbound_at,
        ))
    await session.commit()
    return borrower, conversation_id


async def loan_due(
    session: AsyncSession, borrower: Borrower, due: date, *,
    status: ScheduleItemStatus = ScheduleItemStatus.PENDING, paused: bool = False,
):
    """A loan of `borrower` with one schedule item due on `due`."""
    return await make_loan(session, borrower=borrower, schedule=[(due, 50_000)],
                           schedule_status=status, collection_paused=paused)


def worker_at(app, now: datetime, **kwargs) -> OutreachWorker:
    """A worker of this app with a frozen clock."""
    return OutreachWorker(
        sessionmaker=kwargs.pop("sessionmaker", app.state.sessionmaker),
        settings=kwargs.pop("settings", app.state.settings),
        wechat=kwargs.pop("wechat", app.state.wechat.api),
        events=kwargs.pop("events", app.state.events),
        clock=lambda: now,
        **kwargs,
    )
