"""A borrower's reply to a reminder continues from the reminder's context, through the
real api, action server and Rasa: the reminder is stored in the borrower's web chat as
delivery stores it, its context is appended to the real tracker (api/outreach/context.py),
and the borrower's answer with their identity is verified and met with what is due."""

import asyncio
import json
import sqlite3

import httpx
import pytest

from api.core.config import Settings
from api.core.db import make_engine, make_sessionmaker, utcnow
from api.gateway.models import Channel
from api.gateway.rasa_client import RasaClient
from api.loans.models import Borrower, Loan
from api.outreach.context import seed_reply_context
from api.outreach.delivery import ChannelTarget, store_reminder
from api.outreach.models import OutreachKind, OutreachMessage, OutreachStatus
from api.outreach.templates import load_templates
from tests.e2e.conftest import texts

pytestmark = pytest.mark.e2e

IDENTITY = "张伟 1234 1990-03-07"


async def _remind(live_stack, conversation_id: str) -> tuple[int, str, bool]:
    """Store a missed-payment reminder for 张伟 in this web chat, then seed its context."""
    from sqlalchemy import select

    settings = Settings(
        database_url=live_stack.config.database_url, rasa_url=live_stack.config.rasa_url,
        rasa_token=live_stack.config.extra_env["RASA_TOKEN"], rasa_control_timeout_seconds=5.0,
    )
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    now = utcnow()
    try:
        async with sessionmaker.begin() as session:
            borrower = await session.scalar(select(Borrower).where(Borrower.full_name == "张伟"))
            loan_id = await session.scalar(select(Loan.id).where(Loan.borrower_id == borrower.id))
            row = OutreachMessage(
                borrower_id=borrower.id, loan_id=loan_id, kind=OutreachKind.MISSED_PAYMENT,
                source_key=f"e2e:{conversation_id}", template_key="missed_payment",
                status=OutreachStatus.SENT, due_at=now, not_before=now, channel="web",
                sent_at=now, created_at=now, updated_at=now, payload={"kind": "missed_payment"},
            )
            session.add(row)
            await session.flush()
            reminder = load_templates(settings).render(
                "missed_payment", lender_legal_name=settings.lender_legal_name,
                lender_hotline=settings.lender_hotline)
            message = await store_reminder(
                session, borrower=borrower, reminder=reminder, outreach=row, now=now,
                target=ChannelTarget(Channel.WEB, conversation_id, None, borrowers_own=True))
            row.message_id, row.conversation_id = message.id, conversation_id
        async with httpx.AsyncClient(base_url=settings.rasa_url, timeout=10) as http:
            ok = await seed_reply_context(sessionmaker, rasa=RasaClient(http), settings=settings,
                                          outreach_id=row.id)
        return row.id, message.text, ok
    finally:
        await engine.dispose()


def _tracker_events(live_stack, conversation_id: str) -> list[dict]:
    response = httpx.get(f"{live_stack.config.rasa_url}/conversations/{conversation_id}/tracker",
                         params={"token": live_stack.config.extra_env["RASA_TOKEN"]}, timeout=30)
    response.raise_for_status()
    return response.json()["events"]


def test_a_reply_with_identity_to_a_reminder_is_verified_and_told_what_is_due(chat, live_stack):
    outreach_id, reminder, ok = asyncio.run(_remind(live_stack, chat.conversation_id))
    assert ok is True

    events = _tracker_events(live_stack, chat.conversation_id)
    [said] = [e for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("outreach_id")]
    assert said["text"] == reminder
    # Rasa adds its own keys (model_id, assistant_id) to what we sent.
    assert {k: said["metadata"][k] for k in ("outreach_id", "kind", "proactive")} == {
        "outreach_id": outreach_id, "kind": "missed_payment", "proactive": True}
    assert any(e["event"] == "slot" and e["name"] == "pending_request"
               and (e.get("value") or {}).get("intent") == "ask_amount_due" for e in events)

    answer = texts(chat.say(IDENTITY))

    assert "核验通过" in answer
    assert "¥3,250.00" in answer
    # The reminder sits in the transcript right before the reply; the context was recorded.
    rows = live_stack.transcript(chat.conversation_id)
    at = [text for _, text, _ in rows].index(reminder)
    assert rows[at][0] == "bot" and rows[at + 1] == ("borrower", IDENTITY, "routed")
    with sqlite3.connect(live_stack.db_path) as db:
        [(payload,)] = db.execute("SELECT payload FROM outreach_messages WHERE id = ?", (outreach_id,)).fetchall()
    assert json.loads(payload)["reply_context"]["ok"] is True
