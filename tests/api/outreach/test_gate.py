"""The contact-rules gate with frozen time: every verdict is computed for an explicit
`now`, in the borrower's own time zone (T1-T5, P3, O5, E1-E6)."""

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, timezone

from zoneinfo import ZoneInfo

import pytest

from api.core.config import Settings
from api.outreach.gate import CHECKED_RULES, Action, ContactSnapshot, GateConfig, evaluate
from tests.api.outreach.conftest import at_local

CONFIG = GateConfig.from_settings(Settings())
UTC = timezone.utc


@dataclass(frozen=True)
class Prefs:
    no_workplace_contact: bool = False
    no_family_contact: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    opted_out_channels: tuple[str, ...] = ()
    stop_all: bool = False


def snap(zone: str = "Asia/Shanghai", **kwargs) -> ContactSnapshot:
    return ContactSnapshot(**{"timezone": zone, "kind": "due_today", "channel": "web",
                              "channel_is_borrowers_own": True, **kwargs})


def test_the_defaults_come_from_settings():
    assert (CONFIG.allowed_start, CONFIG.allowed_end) == (time(8), time(21))
    assert (CONFIG.daily_cap, CONFIG.window_cap, CONFIG.window_days) == (1, 7, 7)


# ---- T1: allowed hours in the borrower's own zone ------------------------------------


def test_a_reminder_due_at_2130_local_is_held_until_0800_next_day_in_shanghai():
    verdict = evaluate(snap(), now=at_local("Asia/Shanghai", 2026, 3, 10, 21, 30), config=CONFIG)
    assert verdict.action is Action.HOLD and verdict.rule_id == "T1"
    assert verdict.until == at_local("Asia/Shanghai", 2026, 3, 11, 8, 0)
    assert verdict.until == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("hour", "minute", "allowed"), [
    (7, 59, False), (8, 0, True), (12, 0, True), (20, 59, True), (21, 0, False), (23, 59, False),
])
def test_dubai_borrowers_are_evaluated_in_dubai_time(hour, minute, allowed):
    now = at_local("Asia/Dubai", 2026, 6, 1, hour, minute)
    verdict = evaluate(snap("Asia/Dubai"), now=now, config=CONFIG)
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.rule_id == "T1"
        local = verdict.until.astimezone(ZoneInfo("Asia/Dubai"))
        assert (local.hour, local.minute) == (8, 0) and verdict.until > now


def test_the_same_utc_moment_is_allowed_in_shanghai_and_held_in_dubai():
    now = datetime(2026, 6, 1, 3, 30, tzinfo=UTC)  # 11:30 Shanghai, 07:30 Dubai
    assert evaluate(snap("Asia/Shanghai"), now=now, config=CONFIG).allowed
    held = evaluate(snap("Asia/Dubai"), now=now, config=CONFIG)
    assert held.action is Action.HOLD and held.until == datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def test_new_york_spring_forward_night_holds_until_0800_daylight_time():
    # 2026-03-08 02:00 EST -> 03:00 EDT. 21:30 EST on the 7th is 02:30 UTC on the 8th.
    now = at_local("America/New_York", 2026, 3, 7, 21, 30)
    assert now == datetime(2026, 3, 8, 2, 30, tzinfo=UTC)
    verdict = evaluate(snap("America/New_York"), now=now, config=CONFIG)
    assert verdict.rule_id == "T1"
    assert verdict.until == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT, not 13:00


def test_new_york_fall_back_night_holds_until_0800_standard_time():
    # 2026-11-01 02:00 EDT -> 01:00 EST.
    now = at_local("America/New_York", 2026, 10, 31, 22, 0)
    verdict = evaluate(snap("America/New_York"), now=now, config=CONFIG)
    assert verdict.until == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_allowed_hours_are_a_setting():
    config = replace(CONFIG, allowed_start=time(9), allowed_end=time(20))
    now = at_local("Asia/Shanghai", 2026, 3, 10, 8, 30)
    assert evaluate(snap(), now=now, config=CONFIG).allowed
    assert evaluate(snap(), now=now, config=config).until == at_local("Asia/Shanghai", 2026, 3, 10, 9)


def test_a_naive_clock_is_refused():
    with pytest.raises(ValueError):
        evaluate(snap(), now=datetime(2026, 3, 10, 12), config=CONFIG)


# ---- T2: borrower-stated quiet hours -------------------------------------------------


def test_quiet_hours_wrapping_midnight_hold_until_they_end():
    prefs = Prefs(quiet_start=time(22), quiet_end=time(9))
    verdict = evaluate(snap(preferences=prefs), now=at_local("Asia/Shanghai", 2026, 3, 10, 8, 30),
                       config=CONFIG)
    assert verdict.rule_id == "T2"
    assert verdict.until == at_local("Asia/Shanghai", 2026, 3, 10, 9)
    assert evaluate(snap(preferences=prefs), now=at_local("Asia/Shanghai", 2026, 3, 10, 9),
                    config=CONFIG).allowed


def test_a_hold_lands_where_every_timing_rule_allows():
    # 21:30: T1 moves it to 08:00, the borrower's quiet hours (until 09:00) to 09:00.
    prefs = Prefs(quiet_start=time(22), quiet_end=time(9))
    verdict = evaluate(snap(preferences=prefs), now=at_local("Asia/Shanghai", 2026, 3, 10, 21, 30),
                       config=CONFIG)
    assert verdict.rule_id == "T1"
    assert verdict.until == at_local("Asia/Shanghai", 2026, 3, 11, 9)


def test_daytime_quiet_hours_hold_until_their_end():
    prefs = Prefs(quiet_start=time(9), quiet_end=time(18))  # "工作时间别找我"
    verdict = evaluate(snap(preferences=prefs), now=at_local("Asia/Shanghai", 2026, 3, 10, 10),
                       config=CONFIG)
    assert (verdict.rule_id, verdict.until) == ("T2", at_local("Asia/Shanghai", 2026, 3, 10, 18))


def test_quiet_hours_covering_every_allowed_hour_block_instead_of_holding_forever():
    prefs = Prefs(quiet_start=time(7), quiet_end=time(22))
    verdict = evaluate(snap(preferences=prefs), now=at_local("Asia/Shanghai", 2026, 3, 10, 10),
                       config=CONFIG)
    assert verdict.action is Action.BLOCK and verdict.rule_id == "T2"


# ---- T3: caps across channels, at the boundary ---------------------------------------


def test_the_first_message_of_the_day_goes_and_the_second_is_held_to_the_next_morning():
    now = at_local("Asia/Shanghai", 2026, 3, 10, 15)
    assert evaluate(snap(), now=now, config=CONFIG).allowed
    sent_this_morning = (at_local("Asia/Shanghai", 2026, 3, 10, 10),)
    verdict = evaluate(snap(recent_sends=sent_this_morning), now=now, config=CONFIG)
    assert verdict.rule_id == "T3"
    assert verdict.until == at_local("Asia/Shanghai", 2026, 3, 11, 8)  # midnight, then T1


def test_the_day_is_the_borrowers_local_day_not_utcs():
    # Sent 20:00 New York on the 9th = 00:00 UTC on the 10th: the next local day is free.
    sent = (at_local("America/New_York", 2026, 6, 9, 20),)
    now = at_local("America/New_York", 2026, 6, 10, 8)
    assert evaluate(snap("America/New_York", recent_sends=sent), now=now, config=CONFIG).allowed
    # Later on the same local evening (already the 10th in UTC) the cap holds it.
    held = evaluate(snap("America/New_York", recent_sends=sent),
                    now=at_local("America/New_York", 2026, 6, 9, 20, 30), config=CONFIG)
    assert held.rule_id == "T3"
    assert held.until == at_local("America/New_York", 2026, 6, 10, 8)


def test_seven_in_seven_days_is_the_cap_and_the_eighth_waits_for_the_oldest_to_age_out():
    now = at_local("Asia/Shanghai", 2026, 3, 10, 10)
    six = tuple(at_local("Asia/Shanghai", 2026, 3, d, 10) for d in range(4, 10))  # 4th..9th
    assert evaluate(snap(recent_sends=six), now=now, config=CONFIG).allowed
    seven = (at_local("Asia/Shanghai", 2026, 3, 3, 12), *six)  # 3rd 12:00 .. 9th
    verdict = evaluate(snap(recent_sends=seven), now=now, config=CONFIG)
    assert verdict.rule_id == "T3"
    assert verdict.until == at_local("Asia/Shanghai", 2026, 3, 10, 12)  # 3rd 12:00 + 7 days


def test_the_weekly_window_is_exactly_seven_days():
    now = at_local("Asia/Shanghai", 2026, 3, 10, 12)
    seven = tuple(at_local("Asia/Shanghai", 2026, 3, d, 12) for d in range(3, 10))  # 3rd..9th
    # The oldest was sent exactly 7 days ago: it has aged out, six remain.
    assert evaluate(snap(recent_sends=seven), now=now, config=CONFIG).allowed
    just_before = now - timedelta(microseconds=1)
    assert evaluate(snap(recent_sends=seven), now=just_before, config=CONFIG).rule_id == "T3"


def test_caps_are_settings():
    config = replace(CONFIG, daily_cap=2)
    sends = (at_local("Asia/Shanghai", 2026, 3, 10, 9),)
    now = at_local("Asia/Shanghai", 2026, 3, 10, 15)
    assert evaluate(snap(recent_sends=sends), now=now, config=config).allowed
    assert not evaluate(snap(recent_sends=sends * 2), now=now, config=config).allowed


# ---- rules that block ----------------------------------------------------------------

NOON = at_local("Asia/Shanghai", 2026, 3, 10, 12)


def test_a_lender_pause_blocks_with_o5():
    verdict = evaluate(snap(loan_paused=True), now=NOON, config=CONFIG)
    assert (verdict.action, verdict.rule_id) == (Action.BLOCK, "O5")


@pytest.mark.parametrize(("prefs", "allowed"), [
    (Prefs(stop_all=True), False),
    (Prefs(opted_out_channels=("web",)), False),
    (Prefs(opted_out_channels=("wechat",)), True),  # another channel than this reminder's
    (Prefs(no_workplace_contact=True, no_family_contact=True), True),  # own channel only
])
def test_opt_outs_block_with_t4(prefs, allowed):
    verdict = evaluate(snap(preferences=prefs), now=NOON, config=CONFIG)
    assert verdict.allowed is allowed
    if not allowed:
        assert (verdict.action, verdict.rule_id) == (Action.BLOCK, "T4")


def test_an_opt_out_blocks_also_at_night_rather_than_holding():
    night = at_local("Asia/Shanghai", 2026, 3, 10, 23)
    verdict = evaluate(snap(preferences=Prefs(stop_all=True)), now=night, config=CONFIG)
    assert (verdict.action, verdict.rule_id) == (Action.BLOCK, "T4")


def test_a_channel_that_is_not_the_borrowers_own_is_never_used():
    verdict = evaluate(snap(channel_is_borrowers_own=False), now=NOON, config=CONFIG)
    assert (verdict.action, verdict.rule_id) == (Action.BLOCK, "P3")


def test_a_sent_verdict_lists_every_rule_it_checked_p3_included():
    verdict = evaluate(snap(), now=NOON, config=CONFIG)
    assert verdict.allowed and "P3" in verdict.checked and set(verdict.checked) == set(CHECKED_RULES)


@pytest.mark.parametrize(("kind", "reminder_plan", "allowed"), [
    ("due_today", 5, True),  # the plan's own instalment: agreed
    ("due_soon", 5, True),
    ("missed_payment", 5, False),  # not a reminder the borrower agreed to
    ("due_today", None, False),  # a contract instalment outside the plan
    ("due_today", 4, False),  # an older plan's instalment
])
def test_while_a_plan_is_kept_only_its_agreed_reminders_go(kind, reminder_plan, allowed):
    verdict = evaluate(snap(kind=kind, active_plan_id=5, reminder_plan_id=reminder_plan),
                       now=NOON, config=CONFIG)
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.rule_id == "T5"


def test_without_a_plan_t5_does_not_apply():
    assert evaluate(snap(kind="missed_payment"), now=NOON, config=CONFIG).allowed


@pytest.mark.parametrize(("reason", "rule"), [("E1", "E1"), ("E3", "E3"), ("bot_failure", "E2")])
def test_an_open_escalation_stops_automated_reminders(reason, rule):
    verdict = evaluate(snap(open_escalation_reason=reason), now=NOON, config=CONFIG)
    assert (verdict.action, verdict.rule_id) == (Action.BLOCK, rule)
