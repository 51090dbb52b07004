"""Schedule dates and integer-fen rounding rules (see api/offers/schedule.py)."""

from datetime import date
from fractions import Fraction

import pytest

from api.offers.dates import add_months, monthly_due_dates
from api.offers.fen import round_half_up, share_ceil, share_floor, split_evenly
from api.offers.schedule import instalment_schedule, level_payment_fen


def _schedule(principal=0, free=0, fee=0, rate=Fraction(0), months=3, anchor=date(2026, 1, 1)):
    return instalment_schedule(
        interest_bearing_fen=principal, interest_free_fen=free, fee_fen=fee,
        monthly_rate=rate, months=months, anchor=anchor,
    )


def test_month_end_anchor_is_clamped_each_month_without_drifting():
    assert monthly_due_dates(date(2026, 1, 31), 4) == [
        date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31),
    ]


def test_leap_february_keeps_the_29th_and_years_roll_over():
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_half_fen_interest_rounds_up_not_to_even():
    assert [round_half_up(Fraction(n, 2)) for n in (1, 3, 5, 4)] == [1, 2, 3, 2]
    assert round_half_up(Fraction(149, 100)) == 1


def test_even_split_floors_and_puts_the_remainder_last():
    # 100 fen over 3: 33 + 33 + 34.
    assert split_evenly(100, 3) == [33, 33, 34]
    assert split_evenly(99, 3) == [33, 33, 33]


def test_shares_round_in_the_stated_direction():
    # 20 % of ¥3,250.01 = 65 000.2 fen: a minimum payment rounds up, a fee or waiver down.
    assert share_ceil(325_001, 2000) == 65_001
    assert share_floor(325_001, 2000) == 65_000


def test_zero_rate_plan_is_floor_division_with_the_remainder_in_the_last_instalment():
    schedule = _schedule(principal=100_000, months=3)
    assert [item.amount_fen for item in schedule] == [33_333, 33_333, 33_334]
    assert all(item.interest_fen == 0 for item in schedule)


def test_declining_balance_interest_is_rounded_half_up_each_period():
    # ¥1,000 at 1 %/month over 3 months. Level = 100 000·0.01·1.030301/0.030301
    # = 34 002.21 → 34 002 (rounded down).
    # 1: interest 100 000 × 1 % = 1 000,   principal 33 002, balance 66 998
    # 2: interest 669.98 → 670 (half-up), principal 33 332, balance 33 666
    # 3: interest 336.66 → 337,            principal 33 666 (all that is left) → 34 003
    schedule = _schedule(principal=100_000, rate=Fraction(1, 100), months=3)
    assert [(i.rescheduled_fen, i.interest_fen, i.amount_fen) for i in schedule] == [
        (33_002, 1_000, 34_002), (33_332, 670, 34_002), (33_666, 337, 34_003),
    ]
    assert sum(i.amount_fen for i in schedule) == 100_000 + 1_000 + 670 + 337


def test_level_payment_is_the_exact_annuity_rounded_down():
    # 1 000 000 · 0.01 / (1 − 1.01^−12) = 88 848.788… fen
    assert level_payment_fen(1_000_000, Fraction(1, 100), 12) == 88_848


def test_arrears_and_fee_are_split_evenly_and_bear_no_interest():
    schedule = _schedule(principal=0, free=1_000, fee=100, rate=Fraction(1, 100), months=3)
    assert [(i.rescheduled_fen, i.interest_fen, i.fee_fen) for i in schedule] == [
        (333, 0, 33), (333, 0, 33), (334, 0, 34),
    ]


def test_instalments_fall_monthly_from_the_anchor():
    schedule = _schedule(principal=300, months=3, anchor=date(2026, 3, 15))
    assert [i.due_date for i in schedule] == [
        date(2026, 4, 15), date(2026, 5, 15), date(2026, 6, 15),
    ]


def test_a_plan_needs_at_least_one_month():
    with pytest.raises(ValueError):
        _schedule(principal=100, months=0)
