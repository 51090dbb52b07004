"""Internal notes on a conversation (console_notes; never a Message, see models.py)."""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append
from api.console.access import console_conversation
from api.console.models import ConsoleNote
from api.users.models import User


@dataclass(frozen=True)
class NoteView:
    id: int
    author_id: int
    author_name: str
    text: str
    created_at: datetime


async def add_note(session: AsyncSession, *, conversation_id: str, user: User, text: str) -> NoteView:
    """Any console user may annotate a console conversation, claimed or not (e.g. "借款人
    说下午三点后方便"). The audit event holds a hash, not the text: the note stays where it
    is, and any later edit of the row is detectable against the chain."""
    await console_conversation(session, conversation_id)
    note = ConsoleNote(conversation_id=conversation_id, author_id=user.id, text=text)
    session.add(note)
    await session.flush()
    await append(
        session, actor=f"user:{user.id}", action=AuditAction.CONSOLE_NOTE_ADDED,
        subject=f"conversation:{conversation_id}",
        payload={"note_id": note.id, "chars": len(text),
                 "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()},
    )
    return NoteView(note.id, user.id, user.display_name, note.text, note.created_at)


async def list_notes(session: AsyncSession, *, conversation_id: str) -> list[NoteView]:
    rows = (
        await session.execute(
            select(ConsoleNote, User.display_name)
            .join(User, User.id == ConsoleNote.author_id)
            .where(ConsoleNote.conversation_id == conversation_id)
            .order_by(ConsoleNote.id)
        )
    ).all()
    return [NoteView(n.id, n.author_id, name, n.text, n.created_at) for n, name in rows]
