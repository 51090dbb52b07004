"""Counter-offers (O4, L3): fits, nearest compliant alternative, or a reasoned none."""

from datetime import timedelta

import pytest

from api.offers import CounterOutcome, OptionKind, ReasonCode, counter_offer
from api.offers.policy import Policy
from api.offers.plans import instalment_plan
from tests.api.offers.builders import TODAY, make_policy, make_position


def _plan(position, policy: Policy, months: int):
    return instalment_plan(position, policy.instalment, policy.cost, today=TODAY, months=months)


def test_monthly_amount_gets_the_fewest_months_that_fit():
    # "每月只能还300": 张伟 owes ¥3,250; 12 months ≈ ¥284.57 fits, 11 months does not.
    position, policy = make_position(), make_policy()
    answer = counter_offer(position, policy, today=TODAY, monthly_affordable_fen=30_000)
    assert answer.outcome is CounterOutcome.FITS and not answer.human_review
    plan = answer.option.plan
    assert answer.option.term_months == 12
    assert plan.largest_instalment_fen <= 30_000
    assert _plan(position, policy, 11).largest_instalment_fen > 30_000


def test_monthly_amount_equal_to_the_instalment_fits():
    position, policy = make_position(), make_policy()
    exact = _plan(position, policy, 6).largest_instalment_fen
    answer = counter_offer(position, policy, today=TODAY, monthly_affordable_fen=exact)
    assert answer.option.term_months == 6
    assert answer.option.plan.largest_instalment_fen == exact


def test_monthly_amount_one_fen_short_needs_one_more_month():
    position, policy = make_position(), make_policy()
    exact = _plan(position, policy, 6).largest_instalment_fen
    answer = counter_offer(position, policy, today=TODAY, monthly_affordable_fen=exact - 1)
    assert answer.option.term_months == 7
    assert answer.option.plan.largest_instalment_fen <= exact - 1


def test_monthly_amount_below_the_minimum_instalment_is_a_reasoned_none():
    answer = counter_offer(
        make_position(), make_policy(), today=TODAY, monthly_affordable_fen=9_999
    )
    assert answer.outcome is CounterOutcome.NONE and answer.option is None
    assert answer.reason_code is ReasonCode.BELOW_MINIMUM_INSTALMENT
    assert "¥100.00" in answer.reason_text and answer.human_review


def test_monthly_amount_too_small_even_for_the_longest_plan_is_a_reasoned_none():
    answer = counter_offer(
        make_position(), make_policy(), today=TODAY, monthly_affordable_fen=20_000
    )
    assert answer.outcome is CounterOutcome.NONE and answer.option is None
    assert answer.reason_code is ReasonCode.EXCEEDS_MAX_MONTHS
    assert "12期" in answer.reason_text and "¥200.00" in answer.reason_text


def test_plans_that_fit_but_cost_above_the_cap_are_not_offered():
    # 30 % nominal plan rate on principal: every term is above the 24 % cap.
    policy = make_policy(instalment={"rate": {"basis": "annual_nominal", "bp": 3000}})
    answer = counter_offer(make_position(), policy, today=TODAY, monthly_affordable_fen=200_000)
    assert answer.outcome is CounterOutcome.NONE
    assert answer.reason_code is ReasonCode.COST_ABOVE_CAP


def test_instalments_not_offered_is_a_reasoned_none():
    policy = make_policy(instalment=None)
    answer = counter_offer(make_position(), policy, today=TODAY, monthly_affordable_fen=50_000)
    assert answer.reason_code is ReasonCode.NOT_OFFERED_FOR_PRODUCT


def test_amount_by_date_within_policy_is_a_promise_to_pay():
    answer = counter_offer(
        make_position(), make_policy(), today=TODAY,
        amount_by_date_fen=100_000, pay_by_date=TODAY + timedelta(days=10),
    )
    assert answer.outcome is CounterOutcome.FITS
    option = answer.option
    assert option.kind is OptionKind.PARTIAL_PAYMENT and option.term_days == 10
    assert [(i.due_date, i.amount_fen) for i in option.plan.schedule] == [
        (TODAY + timedelta(days=10), 100_000)
    ]
    assert option.plan.remaining_balance_fen == 225_000


def test_amount_above_the_total_due_is_capped_at_the_total():
    answer = counter_offer(
        make_position(), make_policy(), today=TODAY,
        amount_by_date_fen=400_000, pay_by_date=TODAY + timedelta(days=3),
    )
    assert answer.option.plan.total_repayable_fen == 325_000
    assert answer.option.plan.remaining_balance_fen == 0


def test_promise_date_too_late_gets_the_same_amount_by_the_latest_date():
    answer = counter_offer(
        make_position(), make_policy(), today=TODAY,
        amount_by_date_fen=100_000, pay_by_date=TODAY + timedelta(days=20),
    )
    assert answer.outcome is CounterOutcome.ALTERNATIVE and answer.human_review
    assert answer.reason_code is ReasonCode.PROMISE_DATE_TOO_LATE
    assert "2026年3月30日" in answer.reason_text
    (payment,) = answer.option.plan.schedule
    assert (payment.due_date, payment.amount_fen) == (TODAY + timedelta(days=15), 100_000)


def test_below_minimum_share_gets_instalments_within_the_stated_amount():
    # ¥300 by day 20 is below 20 % of ¥3,250 (¥650); a 12-month plan at ≤ ¥300 whose
    # first instalment (2026-04-15) falls after the stated date is the nearest plan.
    answer = counter_offer(
        make_position(), make_policy(), today=TODAY,
        amount_by_date_fen=30_000, pay_by_date=TODAY + timedelta(days=20),
    )
    assert answer.outcome is CounterOutcome.ALTERNATIVE
    assert answer.reason_code is ReasonCode.BELOW_MINIMUM_SHARE
    assert "¥650.00" in answer.reason_text
    assert answer.option.kind is OptionKind.INSTALMENT
    assert answer.option.plan.largest_instalment_fen <= 30_000
    assert answer.option.plan.schedule[0].due_date >= TODAY + timedelta(days=20)


def test_below_minimum_share_with_a_date_after_the_first_instalment_is_a_reasoned_none():
    answer = counter_offer(
        make_position(), make_policy(), today=TODAY,
        amount_by_date_fen=30_000, pay_by_date=TODAY + timedelta(days=40),
    )
    assert answer.outcome is CounterOutcome.NONE and answer.option is None
    assert answer.reason_code is ReasonCode.BELOW_MINIMUM_SHARE


def test_promise_date_in_the_past_is_a_reasoned_none():
    answer = counter_offer(
        make_position(), make_policy(), today=TODAY,
        amount_by_date_fen=100_000, pay_by_date=TODAY - timedelta(days=1),
    )
    assert answer.reason_code is ReasonCode.PROMISE_DATE_IN_PAST and answer.option is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"monthly_affordable_fen": 30_000, "amount_by_date_fen": 1},
        {"amount_by_date_fen": 30_000},
        {"pay_by_date": TODAY},
        {"monthly_affordable_fen": 0},
        {"monthly_affordable_fen": 300.0},
    ],
)
def test_a_proposal_must_be_exactly_one_well_formed_kind(kwargs):
    with pytest.raises((ValueError, TypeError)):
        counter_offer(make_position(), make_policy(), today=TODAY, **kwargs)


def test_answer_carries_the_policy_version():
    policy = make_policy()
    answer = counter_offer(make_position(), policy, today=TODAY, monthly_affordable_fen=30_000)
    assert answer.policy_version == policy.version
