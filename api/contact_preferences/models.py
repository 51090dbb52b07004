"""What a borrower asked about being contacted (P3, T2, T4). Every change is audited."""

from datetime import datetime, time

from sqlalchemy import JSON, ForeignKey, Time
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow


class ContactPreference(Base):
    __tablename__ = "contact_preferences"

    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), primary_key=True)
    no_workplace_contact: Mapped[bool] = mapped_column(default=False)
    no_family_contact: Mapped[bool] = mapped_column(default=False)
    # T2: borrower-stated quiet hours in their own time zone (may wrap midnight).
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    # T4: channels the borrower switched off ("web", "wechat", "sms"); stop_all ends
    # collection contact except legally required notices.
    opted_out_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    stop_all: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
