"""Outreach flags: reminders stored as the engine stores them, some within the rules and
some not; exactly the ones that broke a rule are flagged, with that rule's id.

Preference changes, pauses and third-party reports are audited at the real "now", so
the reminders here are sent on days after it.
"""

import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from api.compliance import flag_cache
from api.compliance.flags import evaluate
from api.compliance.models import ComplianceFlag
from api.compliance.outreach_flags import OutreachRules
from api.contact_preferences.rules import ContactChannel
from api.contact_preferences.service import PreferenceUpdate, update_preferences
from api.core.db import utcnow
from api.gateway.models import Channel, Conversation
from api.identity.service import report_third_party
from api.outreach.models import OutreachMessage, OutreachStatus
from api.outreach.service import set_collection_pause
from tests.api.compliance.outreach_rows import make_borrower_conversation, make_outreach
from tests.api.payments.builders import make_borrower, make_loan

SHANGHAI, DUBAI = "Asia/Shanghai", "Asia/Dubai"
# A Monday well after the real "now" (the audited preference/pause events happen now).
DAY = (utcnow() + timedelta(days=7 - utcnow().weekday() + 7)).date()


def local(zone: str, days: int, hour: int, minute: int = 0) -> datetime:
    """`days` after DAY at the wall-clock time in `zone`, as UTC."""
    moment = datetime.combine(DAY + timedelta(days=days), time(hour, minute), tzinfo=ZoneInfo(zone))
    return moment.astimezone(timezone.utc)


async def _borrower(session, zone: str = SHANGHAI, *, channel: Channel = Channel.WEB, openid: str | None = None):
    borrower = await make_borrower(session, timezone=zone)
    if openid:
        borrower.wechat_openid = openid
    loan = await make_loan(session, borrower=borrower)
    conversation = await make_borrower_conversation(
        session, borrower=borrower, channel=channel, started=utcnow() - timedelta(days=30),
        external_user_id=openid if channel == Channel.WECHAT else None,
    )
    await session.commit()
    return borrower, loan, conversation


async def _send(session, loan, conversation, at: datetime, **kwargs):
    return await make_outreach(session, loan=loan, at=at, conversation=conversation, **kwargs)


async def flagged(session) -> dict[int, list[str]]:
    """{outreach row id: rule ids flagged on its stored message}, flags refreshed."""
    for conversation_id in (await session.scalars(select(OutreachMessage.conversation_id).distinct())).all():
        if conversation_id is None:
            continue
        await flag_cache.refresh(session, await session.get(Conversation, conversation_id))
    await session.commit()
    rows = (await session.execute(
        select(OutreachMessage.id, ComplianceFlag.rule_id)
        .join(ComplianceFlag, ComplianceFlag.message_id == OutreachMessage.message_id)
        .order_by(OutreachMessage.id, ComplianceFlag.rule_id)
    )).all()
    found: dict[int, list[str]] = {}
    for outreach_id, rule_id in rows:
        found.setdefault(outreach_id, []).append(rule_id)
    return found


async def test_sends_within_the_rules_raise_nothing(session):
    _, loan, conversation = await _borrower(session)
    for days in range(3):  # one a day, inside 08:00-21:00 local
        await _send(session, loan, conversation, local(SHANGHAI, days, 10))
    await _send(session, loan, conversation, local(SHANGHAI, 3, 8, 0))  # the first allowed minute
    await _send(session, loan, conversation, local(SHANGHAI, 4, 20, 59))  # the last

    assert await flagged(session) == {}


async def test_a_send_outside_allowed_local_hours_is_t1_in_the_borrowers_own_zone(session):
    _, shanghai_loan, shanghai_chat = await _borrower(session, SHANGHAI)
    _, dubai_loan, dubai_chat = await _borrower(session, DUBAI)
    night = local(SHANGHAI, 0, 21, 30)  # 21:30 in Shanghai = 17:30 in Dubai
    early = local(DUBAI, 1, 7, 59)  # 07:59 in Dubai = 11:59 in Shanghai
    late_shanghai = await _send(session, shanghai_loan, shanghai_chat, night)
    fine_dubai = await _send(session, dubai_loan, dubai_chat, night)
    early_dubai = await _send(session, dubai_loan, dubai_chat, early)

    found = await flagged(session)

    assert found == {late_shanghai.id: ["T1"], early_dubai.id: ["T1"]}
    assert fine_dubai.id not in found


async def test_the_allowed_hours_are_the_outreach_settings(session):
    _, loan, conversation = await _borrower(session)
    row = await _send(session, loan, conversation, local(SHANGHAI, 0, 19, 30))
    assert await flagged(session) == {}

    narrow = OutreachRules(allowed_start=time(9), allowed_end=time(19))
    facts = await flag_cache.load_facts(session, conversation, rules=narrow)
    assert [(f.rule_id, f.message_id) for f in evaluate(facts)] == [("T1", row.message_id)]


async def test_a_second_send_in_one_local_day_is_t3_across_channels(session):
    borrower, loan, web = await _borrower(session)
    wechat = await make_borrower_conversation(session, borrower=borrower, channel=Channel.WECHAT,
                                              started=utcnow(), external_user_id="o-t3")
    borrower.wechat_openid = "o-t3"
    await session.commit()
    first = await _send(session, loan, web, local(SHANGHAI, 0, 9))
    second = await _send(session, loan, wechat, local(SHANGHAI, 0, 18))  # another channel, same day
    next_day = await _send(session, loan, web, local(SHANGHAI, 1, 0, 0) + timedelta(hours=9))

    found = await flagged(session)

    assert found == {second.id: ["T3"]}
    assert first.id not in found and next_day.id not in found


async def test_more_than_the_window_cap_in_seven_days_is_t3(session):
    _, loan, conversation = await _borrower(session)
    rows = [await _send(session, loan, conversation, local(SHANGHAI, d, 10)) for d in range(7)]
    # Seven days after the first, an hour earlier: the first is still inside the window.
    eighth = await _send(session, loan, conversation, local(SHANGHAI, 7, 9))
    # A day later the window has room again (the first two have aged out).
    ninth = await _send(session, loan, conversation, local(SHANGHAI, 8, 10, 30))

    found = await flagged(session)

    assert found == {eighth.id: ["T3"]}
    assert rows[0].id not in found and ninth.id not in found


async def test_sends_after_an_opt_out_or_stop_all_are_t4(session):
    web_off, loan, conversation = await _borrower(session)
    wechat_off, other_loan, other_chat = await _borrower(session)
    stopped, stopped_loan, stopped_chat = await _borrower(session)
    before = await _send(session, loan, conversation, local(SHANGHAI, -21, 10))  # before the opt-out
    for borrower, update in ((web_off, PreferenceUpdate(opt_out_channels=frozenset({ContactChannel.WEB}))),
                             (wechat_off, PreferenceUpdate(opt_out_channels=frozenset({ContactChannel.WECHAT}))),
                             (stopped, PreferenceUpdate(stop_all=True))):
        await update_preferences(session, borrower_id=borrower.id, actor="test", update=update)
    await session.commit()
    after_web_off = await _send(session, loan, conversation, local(SHANGHAI, 0, 10))
    other_channel_off = await _send(session, other_loan, other_chat, local(SHANGHAI, 0, 10))
    after_stop_all = await _send(session, stopped_loan, stopped_chat, local(SHANGHAI, 0, 10))

    found = await flagged(session)

    assert found == {after_web_off.id: ["T4"], after_stop_all.id: ["T4"]}
    assert before.id not in found and other_channel_off.id not in found


async def test_a_send_in_the_borrowers_quiet_hours_is_t2(session):
    borrower, loan, conversation = await _borrower(session)
    await update_preferences(session, borrower_id=borrower.id, actor="test", update=PreferenceUpdate(
        set_quiet_hours=True, quiet_start=time(12), quiet_end=time(14)))
    await session.commit()
    quiet = await _send(session, loan, conversation, local(SHANGHAI, 0, 13))
    await _send(session, loan, conversation, local(SHANGHAI, 1, 14))  # quiet hours end at 14:00

    assert await flagged(session) == {quiet.id: ["T2"]}


async def test_a_send_while_the_lender_paused_the_loan_is_o5(session):
    borrower, paused_loan, conversation = await _borrower(session)
    other_loan = await make_loan(session, borrower=borrower)
    await set_collection_pause(session, loan_id=paused_loan.id, paused=True, reason="困难期", actor="test",
                               now=utcnow())
    await session.commit()
    during = await _send(session, paused_loan, conversation, local(SHANGHAI, 0, 10))
    other = await _send(session, other_loan, conversation, local(SHANGHAI, 1, 10))

    found = await flagged(session)

    assert found == {during.id: ["O5"]}
    assert other.id not in found


async def test_a_send_to_a_channel_not_the_borrowers_own_is_p1(session):
    borrower, loan, _ = await _borrower(session)
    _, _, someone_elses = await _borrower(session)
    _, wechat_loan, wrong_account = await _borrower(session, channel=Channel.WECHAT, openid=f"o-{uuid.uuid4().hex[:8]}")
    wrong_account.external_user_id = "o-an-employer"
    _, tp_loan, reported = await _borrower(session)
    await report_third_party(session, conversation=reported)
    await session.commit()

    to_other_borrower = await _send(session, loan, someone_elses, local(SHANGHAI, 0, 10))
    to_other_account = await _send(session, wechat_loan, wrong_account, local(SHANGHAI, 0, 10))
    to_third_party = await _send(session, tp_loan, reported, local(SHANGHAI, 0, 10))

    assert await flagged(session) == {
        to_other_borrower.id: ["P1"], to_other_account.id: ["P1"], to_third_party.id: ["P1"],
    }


async def test_held_blocked_and_failed_reminders_are_not_flagged(session):
    borrower, loan, conversation = await _borrower(session)
    await update_preferences(session, borrower_id=borrower.id, actor="test", update=PreferenceUpdate(stop_all=True))
    await session.commit()
    await _send(session, loan, None, local(SHANGHAI, 0, 22), status=OutreachStatus.HELD, rule_id="T1")
    await _send(session, loan, None, local(SHANGHAI, 0, 10), status=OutreachStatus.BLOCKED, rule_id="T4")
    await _send(session, loan, None, local(SHANGHAI, 0, 10), status=OutreachStatus.CANCELLED)

    assert await flagged(session) == {}


async def test_one_send_can_break_several_rules(session):
    borrower, loan, conversation = await _borrower(session)
    await update_preferences(session, borrower_id=borrower.id, actor="test", update=PreferenceUpdate(stop_all=True))
    await set_collection_pause(session, loan_id=loan.id, paused=True, reason="困难期", actor="test", now=utcnow())
    await session.commit()
    row = await _send(session, loan, conversation, local(SHANGHAI, 0, 23))

    assert await flagged(session) == {row.id: ["O5", "T1", "T4"]}


def test_new_york_is_judged_in_its_own_clock_across_the_dst_change():
    from api.compliance.outreach_flags import BorrowerOutreach, ProactiveSend, judge_sends

    # 2026-03-08: New York springs forward at 02:00. 12:30 UTC is 07:30 EST the day
    # before (too early) and 08:30 EDT the day after (allowed).
    before = ProactiveSend(at=datetime(2026, 3, 7, 12, 30, tzinfo=timezone.utc), message_id=1, borrower_id=1)
    after = ProactiveSend(at=datetime(2026, 3, 9, 12, 30, tzinfo=timezone.utc), message_id=2, borrower_id=1)
    borrowers = {1: BorrowerOutreach(timezone="America/New_York", sends=[before, after])}

    found = judge_sends([before, after], borrowers=borrowers, rules=OutreachRules())

    assert [(f.send.message_id, f.rule_id) for f in found] == [(1, "T1")]
