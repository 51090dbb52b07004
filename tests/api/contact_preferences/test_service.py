"""update_preferences: only given fields change; each change is audited with before/after
of the changed fields only; nothing changed, nothing recorded."""

from datetime import time

import pytest
from sqlalchemy import select

from api.audit.models import AuditAction, AuditEvent
from api.contact_preferences.errors import BorrowerNotFound
from api.contact_preferences.rules import ContactChannel
from api.contact_preferences.service import (
    PreferenceUpdate,
    get_preferences,
    update_preferences,
)
from tests.api.payments.builders import make_borrower

SMS, WECHAT = ContactChannel.SMS, ContactChannel.WECHAT


async def events(session) -> list[AuditEvent]:
    return list(
        (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == AuditAction.PREFERENCE_CHANGED)
            )
        ).all()
    )


async def test_defaults_before_any_preference_is_stated(session):
    borrower = await make_borrower(session)

    snapshot = await get_preferences(session, borrower_id=borrower.id)

    assert not snapshot.stop_all and snapshot.opted_out_channels == ()
    assert snapshot.quiet_start is None and snapshot.updated_at is None


async def test_change_is_stored_and_audited_with_changed_fields_only(session):
    borrower = await make_borrower(session)

    snapshot = await update_preferences(
        session,
        borrower_id=borrower.id,
        update=PreferenceUpdate(
            no_workplace_contact=True,
            no_family_contact=False,  # unchanged: not in the event
            set_quiet_hours=True,
            quiet_start=time(22, 0),
            quiet_end=time(8, 0),
        ),
        actor="borrower-session:c-1",
        context={"conversation_id": "c-1"},
    )
    await session.commit()

    assert snapshot.no_workplace_contact and snapshot.updated_at is not None
    [event] = await events(session)
    assert event.subject == f"borrower:{borrower.id}" and event.actor == "borrower-session:c-1"
    assert event.payload == {
        "conversation_id": "c-1",
        "before": {"no_workplace_contact": False, "quiet_end": None, "quiet_start": None},
        "after": {"no_workplace_contact": True, "quiet_end": "08:00:00", "quiet_start": "22:00:00"},
    }


async def test_repeating_a_preference_records_nothing(session):
    borrower = await make_borrower(session)
    update = PreferenceUpdate(stop_all=True)
    await update_preferences(session, borrower_id=borrower.id, update=update, actor="system")
    await session.commit()

    await update_preferences(session, borrower_id=borrower.id, update=update, actor="system")
    await session.commit()

    assert len(await events(session)) == 1


async def test_channels_are_switched_off_and_on_individually(session):
    borrower = await make_borrower(session)
    await update_preferences(
        session, borrower_id=borrower.id, actor="system",
        update=PreferenceUpdate(opt_out_channels=frozenset({SMS, WECHAT})),
    )
    await session.commit()

    snapshot = await update_preferences(
        session, borrower_id=borrower.id, actor="system",
        update=PreferenceUpdate(opt_in_channels=frozenset({WECHAT})),
    )
    await session.commit()

    assert snapshot.opted_out_channels == (SMS,)
    last = (await events(session))[-1]
    assert last.payload["before"] == {"opted_out_channels": ["sms", "wechat"]}
    assert last.payload["after"] == {"opted_out_channels": ["sms"]}


async def test_quiet_hours_can_be_cleared(session):
    borrower = await make_borrower(session)
    for start, end in ((time(12, 0), time(14, 0)), (None, None)):
        await update_preferences(
            session, borrower_id=borrower.id, actor="system",
            update=PreferenceUpdate(set_quiet_hours=True, quiet_start=start, quiet_end=end),
        )
        await session.commit()

    snapshot = await get_preferences(session, borrower_id=borrower.id)
    assert snapshot.quiet_start is None and snapshot.quiet_end is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"quiet_start": time(22, 0)},
        {"quiet_start": time(9, 0), "quiet_end": time(9, 0)},
        {"opt_out_channels": frozenset({SMS}), "opt_in_channels": frozenset({SMS})},
    ],
)
def test_inconsistent_updates_are_refused(kwargs):
    with pytest.raises(ValueError):
        PreferenceUpdate(set_quiet_hours=True, **kwargs)


async def test_unknown_borrower_is_not_found(session):
    with pytest.raises(BorrowerNotFound):
        await update_preferences(
            session, borrower_id=987_654, update=PreferenceUpdate(stop_all=True), actor="system"
        )
