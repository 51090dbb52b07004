"""contact_allowed: P3 workplace/family, T2 quiet hours (also across midnight), T4."""

from dataclasses import dataclass, field
from datetime import time

import pytest

from api.contact_preferences.rules import (
    ContactChannel,
    ContactPurpose,
    Decision,
    RuleId,
    contact_allowed,
    in_quiet_hours,
)


@dataclass
class Pref:
    no_workplace_contact: bool = False
    no_family_contact: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    opted_out_channels: list[str] = field(default_factory=list)
    stop_all: bool = False


def decide(pref, *, channel="sms", purpose="collection", at=time(10, 0)) -> Decision:
    return contact_allowed(
        pref, channel=ContactChannel(channel), purpose=ContactPurpose(purpose), local_time=at
    )


@pytest.mark.parametrize(
    ("at", "quiet"),
    [
        (time(21, 59), False),
        (time(22, 0), True),  # start is inclusive
        (time(23, 30), True),
        (time(0, 0), True),
        (time(7, 59, 59), True),
        (time(8, 0), False),  # end is exclusive
        (time(12, 0), False),
    ],
)
def test_quiet_hours_wrapping_midnight(at, quiet):
    assert in_quiet_hours(at, start=time(22, 0), end=time(8, 0)) is quiet
    expected = Decision(False, RuleId.T2) if quiet else Decision(True)
    assert decide(Pref(quiet_start=time(22, 0), quiet_end=time(8, 0)), at=at) == expected


@pytest.mark.parametrize(
    ("at", "quiet"),
    [(time(8, 59), False), (time(9, 0), True), (time(17, 59), True), (time(18, 0), False)],
)
def test_quiet_hours_within_one_day(at, quiet):
    # "工作时间别找我": 09:00-18:00
    assert decide(Pref(quiet_start=time(9, 0), quiet_end=time(18, 0)), at=at).allowed is not quiet


def test_no_quiet_hours_or_an_empty_window_never_holds_a_message():
    assert not in_quiet_hours(time(3, 0), start=None, end=None)
    assert not in_quiet_hours(time(3, 0), start=time(3, 0), end=time(3, 0))


def test_no_stored_preference_allows_contact():
    assert decide(None, at=time(23, 0)) == Decision(True, None)


def test_stop_all_refuses_everything_but_a_legal_notice():
    pref = Pref(stop_all=True)
    for purpose in ("collection", "workplace_callback", "family_callback"):
        assert decide(pref, purpose=purpose) == Decision(False, RuleId.T4)
    assert decide(pref, purpose="legal_notice").allowed


def test_opted_out_channel_is_refused_and_others_are_not():
    pref = Pref(opted_out_channels=["sms"])
    assert decide(pref, channel="sms") == Decision(False, RuleId.T4)
    assert decide(pref, channel="sms", purpose="legal_notice") == Decision(False, RuleId.T4)
    assert decide(pref, channel="wechat").allowed


def test_workplace_and_family_contact_follow_the_borrowers_request():
    pref = Pref(no_workplace_contact=True)
    assert decide(pref, purpose="workplace_callback") == Decision(False, RuleId.P3)
    assert decide(pref, purpose="family_callback").allowed
    assert decide(pref, purpose="collection").allowed
    pref = Pref(no_family_contact=True)
    assert decide(pref, purpose="family_callback") == Decision(False, RuleId.P3)


def test_lasting_refusals_take_precedence_over_quiet_hours():
    pref = Pref(no_workplace_contact=True, quiet_start=time(22, 0), quiet_end=time(8, 0))
    # A T2 refusal would mean "retry at 08:00"; P3 means "never": P3 must win.
    assert decide(pref, purpose="workplace_callback", at=time(23, 0)).rule_id == RuleId.P3
