"""A stored reminder is put into the bot's context: the exact tracker events Rasa gets,
and a Rasa that cannot be reached loses nothing (recorded on the row and audited)."""

from datetime import datetime, timezone

from sqlalchemy import select

from actions.base import Request
from api.audit.models import AuditAction, AuditEvent
from api.gateway.models import Message
from api.outreach.context import reminder_events, seed_reply_context
from api.outreach.models import OutreachMessage, OutreachStatus
from tests.api.compliance.outreach_rows import REMINDER_TEXT, make_borrower_conversation, make_outreach
from tests.api.gateway.fake_rasa import RASA_TOKEN, fake_rasa, settings  # noqa: F401
from tests.api.payments.builders import make_borrower, make_loan

AT = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


async def _sent_reminder(session, *, kind: str = "promise_followup") -> OutreachMessage:
    borrower = await make_borrower(session)
    loan = await make_loan(session, borrower=borrower)
    conversation = await make_borrower_conversation(session, borrower=borrower, started=AT)
    return await make_outreach(session, loan=loan, kind=kind, at=AT, conversation=conversation)


async def _row(session, outreach_id: int) -> OutreachMessage:
    return await session.get(OutreachMessage, outreach_id, populate_existing=True)


async def _context_audits(session) -> list[dict]:
    payloads = await session.scalars(
        select(AuditEvent.payload).where(AuditEvent.action == AuditAction.BOT_TRACKER_CONTROLLED))
    return [p for p in payloads if p.get("event") == "reminder_context"]


async def test_the_reminder_and_the_pending_request_are_appended_to_the_tracker(
    app, session, settings, fake_rasa  # noqa: F811
):
    row = await _sent_reminder(session)

    ok = await seed_reply_context(app.state.sessionmaker, rasa=app.state.rasa, settings=settings,
                                  outreach_id=row.id)

    assert ok is True
    assert fake_rasa.events == [{
        "sender": row.conversation_id,
        "params": {"token": RASA_TOKEN, "include_events": "NONE"},
        "body": [
            {"event": "bot", "text": REMINDER_TEXT,
             "metadata": {"outreach_id": row.id, "kind": "promise_followup", "message_id": row.message_id,
                          "proactive": True}},
            {"event": "slot", "name": "pending_request",
             "value": {"intent": "ask_amount_due", "text": "", "entities": []}},
        ],
    }]
    stored = await _row(session, row.id)
    assert stored.payload["reply_context"]["ok"] is True
    assert stored.payload["kind"] == "promise_followup"  # what the engine wrote stays
    assert [(a["ok"], a["outreach_id"]) for a in await _context_audits(session)] == [(True, row.id)]


async def test_rasa_refusing_the_events_keeps_the_reminder_and_records_why(
    app, session, settings, fake_rasa  # noqa: F811
):
    fake_rasa.events_status = 500
    row = await _sent_reminder(session, kind="due_today")

    ok = await seed_reply_context(app.state.sessionmaker, rasa=app.state.rasa, settings=settings,
                                  outreach_id=row.id)

    assert ok is False
    stored = await _row(session, row.id)
    assert stored.status == OutreachStatus.SENT and stored.message_id == row.message_id
    assert stored.payload["reply_context"]["ok"] is False
    assert stored.payload["reply_context"]["error"] == "append events: HTTP 500 from Rasa"
    message = await session.get(Message, row.message_id)
    assert message.text == REMINDER_TEXT
    [audit] = await _context_audits(session)
    assert audit["ok"] is False and RASA_TOKEN not in audit["error"]


async def test_rasa_unreachable_is_recorded_not_raised(app, session, settings):
    # The app's own client points at a port nothing listens on (tests/conftest.py).
    row = await _sent_reminder(session)

    ok = await seed_reply_context(app.state.sessionmaker, rasa=app.state.rasa, settings=settings,
                                  outreach_id=row.id)

    assert ok is False
    stored = await _row(session, row.id)
    assert stored.payload["reply_context"]["ok"] is False
    assert stored.payload["reply_context"]["error"].startswith("append events: ConnectError")


async def test_a_row_without_a_stored_reminder_asks_nothing_of_rasa(
    app, session, settings, fake_rasa  # noqa: F811
):
    loan = await make_loan(session)
    row = await make_outreach(session, loan=loan, status=OutreachStatus.HELD, at=AT, rule_id="T1")

    ok = await seed_reply_context(app.state.sessionmaker, rasa=app.state.rasa, settings=settings,
                                  outreach_id=row.id)

    assert ok is False and fake_rasa.events == []


def test_the_slot_value_is_a_request_the_actions_carry_out():
    from api.outreach.context import ReminderContext

    events = reminder_events(ReminderContext(1, "missed_payment", "c", 2, "提醒"))
    pending = Request.from_slot(events[1]["value"])
    assert pending == Request(intent="ask_amount_due", text="", entities=[])
