"""Reading and changing what a borrower asked about being contacted (P3, T2, T4).

Every change appends preference.changed with the before and after of the changed fields
only; a request that changes nothing records nothing. Flush only.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service as audit
from api.audit.models import AuditAction
from api.contact_preferences.errors import BorrowerNotFound
from api.contact_preferences.models import ContactPreference
from api.contact_preferences.rules import ContactChannel
from api.core.db import utcnow
from api.identity.service import verified_borrower
from api.loans.models import Borrower


@dataclass(frozen=True)
class PreferenceSnapshot:
    no_workplace_contact: bool = False
    no_family_contact: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    opted_out_channels: tuple[ContactChannel, ...] = ()
    stop_all: bool = False
    updated_at: datetime | None = None  # None: the borrower never stated a preference


@dataclass(frozen=True)
class PreferenceUpdate:
    """Only what is given changes. Quiet hours change only with set_quiet_hours, to both
    times or to none (None, None); channels are switched off / on individually, so a
    stale list can never switch a channel back on by accident."""

    no_workplace_contact: bool | None = None
    no_family_contact: bool | None = None
    set_quiet_hours: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    opt_out_channels: frozenset[ContactChannel] = field(default_factory=frozenset)
    opt_in_channels: frozenset[ContactChannel] = field(default_factory=frozenset)
    stop_all: bool | None = None

    def __post_init__(self) -> None:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need both a start and an end, or neither")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("quiet hours must not start and end at the same time")
        if self.opt_out_channels & self.opt_in_channels:
            raise ValueError("a channel cannot be switched off and on at once")


async def verified_borrower_id(session: AsyncSession, *, conversation_id: str) -> int:
    """The borrower a conversation verified as (P4), for conversation-scoped routes:
    ConversationNotFound / IdentityNotVerified otherwise."""
    return (await verified_borrower(session, conversation_id=conversation_id)).id


async def get_preferences(session: AsyncSession, *, borrower_id: int) -> PreferenceSnapshot:
    if await session.get(Borrower, borrower_id) is None:
        raise BorrowerNotFound()
    return _snapshot(await session.get(ContactPreference, borrower_id))


async def update_preferences(
    session: AsyncSession,
    *,
    borrower_id: int,
    update: PreferenceUpdate,
    actor: str,
    context: dict | None = None,
) -> PreferenceSnapshot:
    """Apply `update`; `context` (e.g. the conversation id) goes into the audit event."""
    await _lock_borrower(session, borrower_id)
    row = await session.get(ContactPreference, borrower_id, populate_existing=True)
    before = _fields(_snapshot(row))
    after = {**before, **_requested(update, before)}
    changed = sorted(name for name in after if after[name] != before[name])
    if not changed:
        return _snapshot(row)
    if row is None:
        row = ContactPreference(borrower_id=borrower_id, **_column_values(before))
        session.add(row)
    for name in changed:
        setattr(row, name, _column_values(after)[name])
    row.updated_at = utcnow()
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.PREFERENCE_CHANGED,
        subject=f"borrower:{borrower_id}",
        payload={
            **(context or {}),
            "before": {name: _jsonable(before[name]) for name in changed},
            "after": {name: _jsonable(after[name]) for name in changed},
        },
    )
    return _snapshot(row)


async def _lock_borrower(session: AsyncSession, borrower_id: int) -> None:
    """Serialise preference writers per borrower, also when no row exists yet: a no-op
    UPDATE takes the borrower's row lock on PostgreSQL and the write lock on SQLite."""
    result = await session.execute(
        update(Borrower)
        .where(Borrower.id == borrower_id)
        .values(timezone=Borrower.timezone)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        raise BorrowerNotFound()


FIELDS = (
    "no_workplace_contact",
    "no_family_contact",
    "quiet_start",
    "quiet_end",
    "opted_out_channels",
    "stop_all",
)


def _snapshot(row: ContactPreference | None) -> PreferenceSnapshot:
    if row is None:
        return PreferenceSnapshot()
    return PreferenceSnapshot(
        no_workplace_contact=row.no_workplace_contact,
        no_family_contact=row.no_family_contact,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        opted_out_channels=_channels(row.opted_out_channels or ()),
        stop_all=row.stop_all,
        updated_at=row.updated_at,
    )


def _channels(values: Iterable[str]) -> tuple[ContactChannel, ...]:
    return tuple(sorted({ContactChannel(v) for v in values}))


def _fields(snapshot: PreferenceSnapshot) -> dict:
    return {name: getattr(snapshot, name) for name in FIELDS}


def _requested(update: PreferenceUpdate, before: dict) -> dict:
    requested = {
        name: getattr(update, name)
        for name in ("no_workplace_contact", "no_family_contact", "stop_all")
        if getattr(update, name) is not None
    }
    if update.set_quiet_hours:
        requested["quiet_start"], requested["quiet_end"] = update.quiet_start, update.quiet_end
    if update.opt_out_channels or update.opt_in_channels:
        channels = (set(before["opted_out_channels"]) | update.opt_out_channels)
        requested["opted_out_channels"] = _channels(channels - update.opt_in_channels)
    return requested


def _column_values(values: dict) -> dict:
    return {**values, "opted_out_channels": [str(c) for c in values["opted_out_channels"]]}


def _jsonable(value):
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, tuple):
        return [str(v) for v in value]
    return value
