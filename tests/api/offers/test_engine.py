"""The forbearance menu: eligibility, reason codes, the hard cap and the LPR flag."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from pydantic import TypeAdapter

from api.loans.models import Loan
from api.offers import (
    LoanPosition,
    OfferSet,
    OptionKind,
    ReasonCode,
    options_for,
    policy_for_product,
)
from api.offers.errors import PolicyMismatch
from tests.api.offers.builders import PRODUCT, TODAY, make_policy, make_position

EXTENSION, INSTALMENT = OptionKind.EXTENSION, OptionKind.INSTALMENT
PARTIAL, WAIVER = OptionKind.PARTIAL_PAYMENT, OptionKind.PENALTY_WAIVER

# No arrears and a zero-fee policy make the extension cost easy to compute by hand.
PLAIN_EXTENSION = {"fee": {"basis": "fixed_fen", "value": 0}}


def _one(offers, kind):
    (option,) = offers.of_kind(kind)
    return option


def test_demo_loan_gets_every_option_kind_with_a_hardship_reason():
    offers = options_for(make_position(), make_policy(), today=TODAY, hardship_reason="job_loss")
    assert {o.kind for o in offers.eligible} == set(OptionKind)
    assert offers.policy_version == make_policy().version
    for option in offers.eligible:
        assert option.name and option.reason_code is None and not option.human_review


def test_extension_total_adds_contract_interest_and_disclosed_fee():
    # 张伟: total due 325 000; 30 days of 18 % on principal 300 000:
    # 300 000 × 0.18 × 30/365 = 4 438.36 → 4 438 (half-up); fee 15 bp × 300 000 = 450.
    offers = options_for(make_position(), make_policy(), today=TODAY)
    (option,) = [o for o in offers.of_kind(EXTENSION) if o.term_days == 30]
    plan = option.plan
    assert (plan.interest_fen, plan.fees_fen) == (4_438, 450)
    assert plan.total_repayable_fen == 325_000 + 4_438 + 450
    assert plan.schedule[0].due_date == TODAY + timedelta(days=30)


def test_extension_cost_matches_hand_computation():
    # Principal 365 000, nothing else owed, 10 % contract rate, 73 days, no fee:
    # interest 365 000 × 0.10 × 73/365 = 7 300; (1 + 7 300/365 000)^(365/73) − 1
    # = 1.02^5 − 1 = 10.408 % → 1 041 bp.
    position = make_position(
        principal_fen=365_000, interest_fen=0, penalty_fen=0, fees_fen=0, contract_rate_bp=1000
    )
    policy = make_policy(extension={"lengths_days": [73], **PLAIN_EXTENSION})
    plan = _one(options_for(position, policy, today=TODAY), EXTENSION).plan
    assert plan.annual_cost_bp == 1041


@pytest.mark.parametrize(("lpr_bp", "flagged"), [(260, True), (261, False)])
def test_cost_above_the_lpr_multiple_is_flagged(lpr_bp, flagged):
    # Same 1 041 bp plan; 4 × 260 = 1 040 < 1 041 (flag), 4 × 261 = 1 044 (no flag).
    position = make_position(
        principal_fen=365_000, interest_fen=0, penalty_fen=0, fees_fen=0, contract_rate_bp=1000
    )
    policy = make_policy(
        cost={"lpr_one_year_bp": lpr_bp},
        extension={"lengths_days": [73], **PLAIN_EXTENSION},
    )
    option = _one(options_for(position, policy, today=TODAY), EXTENSION)
    assert option.eligible and option.plan.flagged_above_lpr_multiple is flagged


@pytest.mark.parametrize(("cap_bp", "eligible"), [(1041, True), (1040, False)])
def test_plan_above_the_hard_cap_is_never_returned(cap_bp, eligible):
    position = make_position(
        principal_fen=365_000, interest_fen=0, penalty_fen=0, fees_fen=0, contract_rate_bp=1000
    )
    policy = make_policy(
        cost={"cap_annual_bp": cap_bp}, extension={"lengths_days": [73], **PLAIN_EXTENSION}
    )
    option = _one(options_for(position, policy, today=TODAY), EXTENSION)
    assert option.eligible is eligible
    if not eligible:
        assert option.plan is None
        assert option.reason_code is ReasonCode.COST_ABOVE_CAP
        assert "10.41%" in option.reason_text and "10.40%" in option.reason_text
        assert option.human_review


def test_a_fixed_fee_can_price_out_the_short_extension_but_not_the_long_one():
    # ¥10 fee on ¥3,250 (contract interest 2 219 fen for 15 days, 4 438 for 30):
    # 15 days: (1 + 3 219/325 000)^(365/15) − 1 = 27.10 % > 24 % → refused
    # 30 days: (1 + 5 438/325 000)^(365/30) − 1 = 22.37 % → offered (2 238 bp)
    policy = make_policy(
        extension={"fee": {"basis": "fixed_fen", "value": 1_000, "disclosed_clause": "第9条"}}
    )
    offers = options_for(make_position(), policy, today=TODAY)
    by_days = {o.term_days: o for o in offers.of_kind(EXTENSION)}
    assert by_days[15].reason_code is ReasonCode.COST_ABOVE_CAP
    assert "27.11%" in by_days[15].reason_text
    assert by_days[30].plan.annual_cost_bp == 2238


def test_extension_is_refused_past_the_days_past_due_limit_with_reason_and_human_path():
    offers = options_for(make_position(days_past_due=61), make_policy(), today=TODAY)
    option = _one(offers, EXTENSION)
    assert not option.eligible and option.plan is None
    assert option.reason_code is ReasonCode.DAYS_PAST_DUE_EXCEEDED
    assert "61" in option.reason_text and "60" in option.reason_text
    assert option.human_review


def test_a_kind_left_out_of_the_policy_is_refused_as_not_offered():
    offers = options_for(make_position(), make_policy(instalment=None), today=TODAY)
    assert _one(offers, INSTALMENT).reason_code is ReasonCode.NOT_OFFERED_FOR_PRODUCT


def test_nothing_due_means_no_option():
    position = make_position(principal_fen=0, interest_fen=0, penalty_fen=0, fees_fen=0)
    offers = options_for(position, make_policy(), today=TODAY, hardship_reason="illness")
    assert offers.eligible == ()
    assert {o.reason_code for o in offers.options} == {ReasonCode.NOTHING_DUE}


def test_instalment_menu_prices_each_term():
    offers = options_for(make_position(), make_policy(), today=TODAY)
    plans = {o.term_months: o.plan for o in offers.of_kind(INSTALMENT)}
    assert sorted(plans) == [3, 6, 12]
    for months, plan in plans.items():
        assert len(plan.schedule) == months
        assert plan.financed_fen == 325_000
        assert plan.total_repayable_fen == 325_000 + plan.interest_fen
    # Arrears bear no interest, so the cost is below the 10 % nominal plan rate.
    assert all(0 < plan.annual_cost_bp < 1047 for plan in plans.values())


def test_term_with_instalments_below_the_minimum_is_refused():
    # ¥500 over 6 months ≈ ¥83 < ¥100 minimum; over 3 months ≈ ¥167 is fine.
    position = make_position(principal_fen=50_000, interest_fen=0, penalty_fen=0, fees_fen=0)
    offers = options_for(position, make_policy(), today=TODAY)
    by_months = {o.term_months: o for o in offers.of_kind(INSTALMENT)}
    assert by_months[3].eligible
    assert by_months[6].reason_code is ReasonCode.BALANCE_TOO_SMALL_FOR_TERM
    assert "¥100.00" in by_months[6].reason_text


def test_partial_payment_menu_shows_the_minimum_share_by_the_latest_date():
    # 20 % of ¥3,250.01 = 65 000.2 fen → 65 001 (a minimum rounds up).
    position = make_position(fees_fen=4_001)
    plan = _one(options_for(position, make_policy(), today=TODAY), PARTIAL).plan
    assert plan.total_repayable_fen == 65_001
    assert plan.remaining_balance_fen == 325_001 - 65_001
    assert plan.schedule[0].due_date == TODAY + timedelta(days=15)
    assert plan.annual_cost_bp == 0 and plan.fees_fen == 0


def test_penalty_waiver_waives_the_maximum_share_rounded_down():
    # 50 % of 6 001 fen = 3 000.5 → 3 000; the rest is due within 7 days.
    position = make_position(penalty_fen=6_001)
    offers = options_for(position, make_policy(), today=TODAY, hardship_reason="illness")
    plan = _one(offers, WAIVER).plan
    assert plan.waived_fen == 3_000
    assert plan.total_repayable_fen == position.total_due_fen - 3_000
    assert plan.schedule[0].due_date == TODAY + timedelta(days=7)


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (None, ReasonCode.HARDSHIP_REASON_REQUIRED),
        ("", ReasonCode.HARDSHIP_REASON_REQUIRED),
        ("lottery_loss", ReasonCode.HARDSHIP_REASON_NOT_ACCEPTED),
        ("disaster", ReasonCode.HARDSHIP_REASON_NOT_ACCEPTED),  # not accepted by this product
    ],
)
def test_penalty_waiver_needs_an_accepted_hardship_reason(reason, code):
    policy = make_policy(penalty_waiver={"accepted_reasons": ["job_loss", "illness"]})
    offers = options_for(make_position(), policy, today=TODAY, hardship_reason=reason)
    option = _one(offers, WAIVER)
    assert option.reason_code is code and option.plan is None and option.human_review


def test_no_penalty_interest_means_nothing_to_waive():
    offers = options_for(make_position(penalty_fen=0), make_policy(), today=TODAY,
                         hardship_reason="job_loss")
    assert _one(offers, WAIVER).reason_code is ReasonCode.NO_PENALTY_INTEREST


def test_position_for_another_product_is_refused():
    with pytest.raises(PolicyMismatch):
        options_for(make_position(product_name="经营贷"), make_policy(), today=TODAY)


def test_stale_balances_are_refused():
    with pytest.raises(PolicyMismatch):
        options_for(make_position(), make_policy(), today=TODAY + timedelta(days=1))


def test_position_is_built_from_a_loan_without_a_database():
    loan = Loan(
        product_name="普惠信用贷", principal_fen=500_000, contract_rate_bp=1800,
        due_date=date(2026, 2, 8), outstanding_principal_fen=300_000,
        outstanding_interest_fen=15_000, penalty_interest_fen=6_000, fees_fen=4_000,
    )
    position = LoanPosition.from_loan(loan, as_of=TODAY)
    assert position == make_position()
    assert position.days_past_due == 35
    assert position.total_due_fen == loan.total_due_fen == 325_000


def test_position_refuses_float_money():
    with pytest.raises(TypeError):
        replace(make_position(), penalty_interest_fen=60.0)


def test_position_not_yet_due_has_zero_days_past_due():
    assert make_position(days_past_due=-5).days_past_due == 0


def test_offer_set_serialises_to_json_for_the_routes():
    offers = options_for(make_position(), make_policy(), today=TODAY, hardship_reason="job_loss")
    data = TypeAdapter(OfferSet).dump_python(offers, mode="json")
    first = data["options"][0]
    assert first["kind"] == "extension" and first["name"] == "展期"
    assert isinstance(first["plan"]["annual_cost_bp"], int)
    assert first["plan"]["schedule"][0]["due_date"] == "2026-03-30"


@pytest.mark.parametrize(
    ("position", "kinds"),
    [
        (make_position(), set(OptionKind)),  # 张伟
        (
            make_position(principal_fen=1_200_000, interest_fen=48_050, penalty_fen=0,
                          fees_fen=0, days_past_due=8),  # 李娜: no penalty to waive
            {EXTENSION, INSTALMENT, PARTIAL},
        ),
    ],
)
def test_shipped_policy_offers_the_demo_borrowers_every_applicable_kind(position, kinds):
    offers = options_for(position, policy_for_product(PRODUCT), today=TODAY,
                         hardship_reason="job_loss")
    assert {option.kind for option in offers.eligible} == kinds
