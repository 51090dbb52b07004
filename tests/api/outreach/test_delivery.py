"""Delivery through the borrower's own channel, WeChat's servers faked by a local server
that speaks their protocol: 客服消息 inside the 48-hour window, 模板消息 outside it when a
template is configured, else the reminder waits in the conversation. Failures are
recorded and retried, never swallowed."""

from datetime import date, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from api.audit.models import AuditAction, AuditEvent
from api.gateway.models import Conversation, Message, MessageStatus
from api.loans.models import ScheduleItemStatus
from api.outreach.models import OutreachMessage
from tests.api.gateway import wechat_sim as sim
from tests.api.outreach.conftest import at_local, loan_due, make_wechat_borrower, worker_at
from tests.api.outreach.fake_wechat import FakeWeChatWithTemplates

NOW = at_local("Asia/Shanghai", 2026, 3, 10, 10)
OPENID = "o6_outreach_test_openid_000001"


@pytest.fixture
def fake_wechat():
    with FakeWeChatWithTemplates(app_id=sim.APP_ID, app_secret=sim.APP_SECRET) as server:
        yield server


@pytest.fixture
def settings(settings, fake_wechat):
    return settings.model_copy(update={
        "wechat_app_id": sim.APP_ID,
        "wechat_app_secret": SecretStr(sim.APP_SECRET),
        "wechat_api_base_url": fake_wechat.base_url,
    })


async def _row(session) -> OutreachMessage:
    return (await session.scalars(
        select(OutreachMessage).execution_options(populate_existing=True))).one()


async def _message(session, row) -> Message:
    return await session.get(Message, row.message_id, populate_existing=True)


async def test_inside_the_service_window_a_reminder_is_a_customer_service_message(app, session, fake_wechat):
    borrower, conversation_id = await make_wechat_borrower(
        session, openid=OPENID, last_inbound_at=NOW - timedelta(hours=47))
    await loan_due(session, borrower, date(2026, 3, 10))

    assert (await worker_at(app, NOW).run_once()).outcomes == {"sent": 1}

    row = await _row(session)
    message = await _message(session, row)
    assert (row.channel, row.delivery, row.attempts, row.conversation_id) == (
        "wechat", "wechat_service", 1, conversation_id)
    assert message.status == MessageStatus.DELIVERED
    assert fake_wechat.state.sent == [{"touser": OPENID, "msgtype": "text", "text": {"content": message.text}}]
    assert fake_wechat.templates_sent == []


async def test_outside_the_window_a_configured_template_message_is_used(app, session, fake_wechat):
    settings = app.state.settings.model_copy(update={"wechat_reminder_template_id": "TPL-REMINDER-1"})
    borrower, _ = await make_wechat_borrower(session, openid=OPENID, last_inbound_at=NOW - timedelta(hours=48))
    await loan_due(session, borrower, date(2026, 3, 10))

    await worker_at(app, NOW, settings=settings).run_once()

    row = await _row(session)
    assert row.delivery == "wechat_template" and (await _message(session, row)).status == MessageStatus.DELIVERED
    assert fake_wechat.state.sent == []
    (sent,) = fake_wechat.templates_sent
    assert sent["touser"] == OPENID and sent["template_id"] == "TPL-REMINDER-1"
    assert set(sent["data"]) == {"first", "remark"}
    assert "别再发了" in sent["data"]["remark"]["value"]


async def test_outside_the_window_without_a_template_it_waits_in_the_conversation(app, session, fake_wechat):
    borrower, conversation_id = await make_wechat_borrower(session, openid=OPENID)  # never wrote
    await loan_due(session, borrower, date(2026, 3, 10))

    await worker_at(app, NOW).run_once()

    row = await _row(session)
    assert (row.status, row.delivery, row.attempts) == ("sent", "inbox", 0)
    assert (await _message(session, row)).status == MessageStatus.NOT_SENT_WINDOW_CLOSED
    assert row.conversation_id == conversation_id
    assert fake_wechat.state.sent == [] and fake_wechat.templates_sent == []


async def test_a_refused_push_is_recorded_retried_later_and_not_stored_twice(app, session, fake_wechat):
    borrower, _ = await make_wechat_borrower(session, openid=OPENID, last_inbound_at=NOW - timedelta(hours=1))
    await loan_due(session, borrower, date(2026, 3, 8), status=ScheduleItemStatus.MISSED)
    await app.state.wechat.api.access_token()
    fake_wechat.state.fail_next_send_with = 45009  # WeChat: API rate limit reached

    first = await worker_at(app, NOW).run_once()

    row = await _row(session)
    assert first.outcomes == {"delivery_failed": 1}
    assert (row.status, row.attempts) == ("held", 1) and "45009" in row.last_error
    assert row.not_before == NOW + timedelta(seconds=app.state.settings.outreach_retry_seconds)
    assert (await _message(session, row)).status == MessageStatus.DELIVERY_FAILED
    failed = await session.scalar(select(AuditEvent).where(
        AuditEvent.action == AuditAction.OUTREACH_DELIVERY_FAILED))
    assert failed.payload["retry"] is True and failed.payload["attempts"] == 1

    later = NOW + timedelta(minutes=10)
    assert (await worker_at(app, later).run_once()).outcomes == {"sent": 1}
    row = await _row(session)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert (await _message(session, row)).status == MessageStatus.DELIVERED
    stored = (await session.scalars(select(Message).where(Message.template.like("outreach.%")))).all()
    assert len(stored) == 1 and len(fake_wechat.state.sent) == 1
    assert row.sent_at == NOW  # when it entered the transcript


async def test_a_push_that_cannot_succeed_fails_after_one_attempt(app, session, fake_wechat):
    borrower, _ = await make_wechat_borrower(session, openid=OPENID, last_inbound_at=NOW - timedelta(hours=1))
    await loan_due(session, borrower, date(2026, 3, 10))
    await app.state.wechat.api.access_token()
    fake_wechat.state.fail_next_send_with = 43004  # the user unfollowed the account

    await worker_at(app, NOW).run_once()

    row = await _row(session)
    assert (row.status, row.attempts) == ("failed", 1) and "43004" in row.last_error
    assert (await _message(session, row)).status == MessageStatus.DELIVERY_FAILED


async def test_the_borrowers_next_wechat_message_lands_in_the_reminders_conversation(
    app, session, client, fake_wechat
):
    app.state.wechat.settings = app.state.wechat.settings.model_copy(update={
        "wechat_token": SecretStr(sim.TOKEN), "wechat_encoding_aes_key": SecretStr(sim.AES_KEY)})
    borrower, _ = await make_wechat_borrower(session, openid=OPENID, conversation=False)
    await loan_due(session, borrower, date(2026, 3, 10))  # no open conversation: the reminder opens one

    await worker_at(app, NOW).run_once()
    row = await _row(session)
    conversation = await session.get(Conversation, row.conversation_id)
    assert conversation.external_user_id == OPENID and conversation.verified_at is not None

    response = await client.post("/wechat", **_signed(sim.text_xml(OPENID, "我想了解一下", 7001)))
    assert response.status_code == 200
    replies = (await session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        .execution_options(populate_existing=True))).all()
    assert [m.sender for m in replies][:2] == ["bot", "borrower"]
    assert replies[0].id == row.message_id and replies[1].text == "我想了解一下"


def _signed(xml: str) -> dict:
    signed = sim.plaintext_post(xml)
    return {"params": signed.params, "content": signed.body}
