"""Internal notes: what one collector leaves for the next (or for compliance).

A separate table rather than a Message with a hidden flag, on purpose: the borrower's
transcript, stream and exports read `messages`, so a note can never leak into them by a
forgotten filter.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow


class ConsoleNote(Base):
    __tablename__ = "console_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
