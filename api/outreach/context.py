"""A borrower's reply to a reminder continues from the reminder's context (issue 9).

After delivery has stored a reminder in the borrower's conversation (and committed it),
`seed_reply_context` tells Rasa about it by appending two events to the conversation's
tracker (sender id = conversation id, as for every turn):

- `bot`: the reminder text, with metadata {outreach_id, kind, message_id, proactive}, so
  the tracker (and anything reading it) knows what the bot last said;
- `slot` `pending_request` = {"intent": "ask_amount_due", "text": "", "entities": []}
  (the shape of actions/base.py `Request.as_slot`): when the borrower answers with their
  identity ("张伟 1234 1990-03-07"), action_verify_identity verifies and then carries out
  the remembered request, i.e. explains what is due. A reply like "我欠多少" reaches the
  identity prompt by itself (P4: nothing is disclosed before verification either way).

No retraining is needed: the slot exists in bot/domain.yml and is read only by the
actions. A Rasa that is down or slow loses nothing: the reminder is already stored and
delivered; the failure is logged, written on the outreach row
(payload["reply_context"] = {"ok": false, "error": …}) and audited as
bot.tracker_controlled {event: "reminder_context", ok: false}. The borrower's reply then
gets the bot's ordinary answer (identity prompt, then the amount), only without the
remembered request.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.audit.models import AuditAction
from api.audit.service import append
from api.core.config import Settings
from api.core.db import utcnow
from api.gateway.models import Message
from api.gateway.rasa_client import BotUnavailable, RasaClient
from api.outreach.models import OutreachKind, OutreachMessage

log = logging.getLogger(__name__)

# The slot the actions keep a borrower's request in while identity is checked
# (actions/base.py PENDING_REQUEST, declared in bot/domain.yml).
PENDING_REQUEST_SLOT = "pending_request"
# What a reply to each kind of reminder most likely asks: what is due, and by when.
REPLY_INTENT: dict[str, str] = dict.fromkeys(OutreachKind, "ask_amount_due")
DEFAULT_REPLY_INTENT = "ask_amount_due"
CONTEXT_EVENT = "reminder_context"  # bot.tracker_controlled payload "event"
ERROR_MAX = 300


@dataclass(frozen=True)
class ReminderContext:
    outreach_id: int
    kind: str
    conversation_id: str
    message_id: int
    text: str


def reminder_events(reminder: ReminderContext) -> list[dict]:
    """The tracker events that put a stored reminder into the bot's context."""
    intent = REPLY_INTENT.get(str(reminder.kind), DEFAULT_REPLY_INTENT)
    return [
        {
            "event": "bot",
            "text": reminder.text,
            "metadata": {
                "outreach_id": reminder.outreach_id,
                "kind": str(reminder.kind),
                "message_id": reminder.message_id,
                "proactive": True,
            },
        },
        {
            "event": "slot",
            "name": PENDING_REQUEST_SLOT,
            "value": {"intent": intent, "text": "", "entities": []},
        },
    ]


async def load_reminder(session: AsyncSession, outreach_id: int) -> ReminderContext | None:
    """The stored reminder of an outreach row; None when nothing was stored (yet)."""
    row = (
        await session.execute(
            select(OutreachMessage.kind, OutreachMessage.conversation_id, Message.id, Message.text)
            .join(Message, Message.id == OutreachMessage.message_id)
            .where(OutreachMessage.id == outreach_id)
        )
    ).one_or_none()
    if row is None or row.conversation_id is None:
        return None
    return ReminderContext(
        outreach_id=outreach_id, kind=str(row.kind), conversation_id=row.conversation_id,
        message_id=row.id, text=row.text,
    )


async def seed_reply_context(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    rasa: RasaClient,
    settings: Settings,
    outreach_id: int,
) -> bool:
    """Append the reminder to its conversation's Rasa tracker; True when Rasa took it.

    Call after the transaction that stored the reminder has committed (a call to the
    outside world). Never raises for Rasa's sake: the outcome is recorded either way.
    """
    async with sessionmaker() as session:
        reminder = await load_reminder(session, outreach_id)
    if reminder is None:
        log.warning("outreach %s has no stored reminder: no bot context to seed", outreach_id)
        return False
    error = None
    try:
        await rasa.append_events(
            sender_id=reminder.conversation_id,
            events=reminder_events(reminder),
            token=settings.rasa_token.get_secret_value(),
            timeout=settings.rasa_control_timeout_seconds,
        )
    except BotUnavailable as exc:
        error = str(exc)[:ERROR_MAX]
        log.warning(
            "reminder %s stored, but Rasa's tracker of %s was not told: %s",
            outreach_id, reminder.conversation_id, error,
        )
    await _record(sessionmaker, reminder, error=error)
    return error is None


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession], reminder: ReminderContext, *, error: str | None
) -> None:
    async with sessionmaker.begin() as session:
        row = await session.get(OutreachMessage, reminder.outreach_id)
        outcome = {"ok": error is None, "error": error, "at": utcnow().isoformat()}
        # A new dict, so the JSON column is seen as changed.
        row.payload = {**(row.payload or {}), "reply_context": outcome}
        await append(
            session, actor="system", action=AuditAction.BOT_TRACKER_CONTROLLED,
            subject=f"conversation:{reminder.conversation_id}",
            payload={"event": CONTEXT_EVENT, "ok": error is None, "error": error,
                     "outreach_id": reminder.outreach_id, "kind": reminder.kind},
        )
