"""Staff accounts. Borrowers are not users: they reach the api through chat sessions."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    COLLECTOR = "collector"  # 催收员: works handed-off conversations
    COMPLIANCE = "compliance"  # 合规: reviews transcripts, verifies the audit chain
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (stripped, lower case) so "Admin" and "admin" are one account.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(String(16))
    # argon2id in PHC format; carries its own salt and parameters.
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
