"""Annualised all-in cost (O1) against hand-computed cases."""

from datetime import date, timedelta
from fractions import Fraction

import pytest

from api.offers.cost import dated_cost_bp, monthly_cost_bp
from api.offers.schedule import instalment_schedule

START = date(2026, 1, 1)


def test_interest_only_loan_at_one_percent_a_month_costs_12_69_percent_effective():
    # ¥1,000 financed, ¥10 interest for 11 months, then ¥1,010: monthly IRR is exactly 1 %.
    # Effective annual = 1.01^12 − 1 = 0.126825030… = 1 268.25 bp → rounded up: 1 269 bp.
    # (The nominal "1 % × 12" figure would be 1 200 bp; we disclose the effective one.)
    assert monthly_cost_bp(financed_fen=100_000, payments_fen=[1_000] * 11 + [101_000]) == 1269


def test_level_annuity_at_one_percent_a_month_discloses_that_rate():
    # ¥10,000 at 1 %/month over 12 months: exact annuity 1 000 000·0.01/(1−1.01^−12)
    # = 88 848.79 fen → 11 × 88 848 fen + a last instalment absorbing the rounding.
    # IRR ≈ 1 %/month (fen rounding moves it by < 1e-8), so 1.01^12 − 1 → 1 269 bp.
    schedule = instalment_schedule(
        interest_bearing_fen=1_000_000, interest_free_fen=0, fee_fen=0,
        monthly_rate=Fraction(1, 100), months=12, anchor=START,
    )
    payments = [item.amount_fen for item in schedule]
    assert payments[:11] == [88_848] * 11
    assert monthly_cost_bp(financed_fen=1_000_000, payments_fen=payments) == 1269


def test_two_percent_a_month_is_26_83_percent_effective():
    # 1.02^12 − 1 = 0.268241794… = 2 682.42 bp → 2 683 bp.
    payments = [2_000] * 11 + [102_000]
    assert monthly_cost_bp(financed_fen=100_000, payments_fen=payments) == 2683


def test_thirty_day_extension_with_one_percent_fee():
    # Pay ¥1,010 in 30 days for ¥1,000 today: (1 + 0.01)^(365/30) − 1
    # = exp(12.1667 × ln 1.01) − 1 = 0.128695… = 1 286.95 bp → 1 287 bp.
    payments = [(START + timedelta(days=30), 101_000)]
    assert dated_cost_bp(financed_fen=100_000, start=START, payments=payments) == 1287


def test_73_day_extension_at_two_percent_is_1_02_to_the_fifth():
    # 365/73 = 5 exactly: (1 + 7 300/365 000)^5 − 1 = 1.02^5 − 1 = 0.1040808… → 1 041 bp.
    payments = [(START + timedelta(days=73), 372_300)]
    assert dated_cost_bp(financed_fen=365_000, start=START, payments=payments) == 1041


def test_one_year_at_ten_percent_is_exactly_1000_bp_not_rounded_up_by_solver_noise():
    # (1.10)^(365/365) − 1 = 0.10 exactly: the ceiling must not turn 1 000.000… into 1 001.
    payments = [(START + timedelta(days=365), 110_000)]
    assert dated_cost_bp(financed_fen=100_000, start=START, payments=payments) == 1000


def test_paying_back_exactly_the_financed_amount_costs_nothing():
    assert monthly_cost_bp(financed_fen=120_000, payments_fen=[40_000] * 3) == 0
    payments = [(START + timedelta(days=7), 50_000)]
    assert dated_cost_bp(financed_fen=50_000, start=START, payments=payments) == 0


def test_one_day_extension_with_a_large_fee_is_solved_not_overflowed():
    # (1.05)^365 − 1 ≈ 5.5e7 = 5.5e11 bp: far above any cap, but still a number.
    payments = [(START + timedelta(days=1), 105_000)]
    cost = dated_cost_bp(financed_fen=100_000, start=START, payments=payments)
    assert cost == pytest.approx(1.05**365 * 10_000, rel=1e-6)


@pytest.mark.parametrize(
    ("financed", "payments"),
    [(0, [100]), (100, []), (100, [-1, 200]), (100, [50, 49])],
)
def test_flows_that_are_not_a_cost_are_refused(financed, payments):
    with pytest.raises(ValueError):
        monthly_cost_bp(financed_fen=financed, payments_fen=payments)
