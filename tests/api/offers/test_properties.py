"""Property-based checks of the money invariants (hypothesis)."""

from datetime import timedelta
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.offers import CounterOutcome, OptionKind, counter_offer, options_for
from api.offers.cost import dated_cost_bp, monthly_cost_bp
from api.offers.plans import extension_plan, instalment_plan
from api.offers.schedule import instalment_schedule
from tests.api.offers.builders import TODAY, make_policy, make_position

# database=None: no .hypothesis/ directory in the repository; failures print their example.
PROPERTY = settings(
    max_examples=200, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CLAUSE = "第9条"


@st.composite
def positions(draw):
    return make_position(
        principal_fen=draw(st.integers(0, 100_000_000)),
        interest_fen=draw(st.integers(0, 2_000_000)),
        penalty_fen=draw(st.integers(0, 1_000_000)),
        fees_fen=draw(st.integers(0, 200_000)),
        contract_rate_bp=draw(st.integers(0, 3600)),
        days_past_due=draw(st.integers(0, 200)),
    )


@st.composite
def fees(draw):
    basis = draw(st.sampled_from(["bp_of_principal", "bp_of_rescheduled", "fixed_fen"]))
    value = draw(st.integers(0, 500 if basis != "fixed_fen" else 50_000))
    return {"basis": basis, "value": value, "disclosed_clause": CLAUSE}


@st.composite
def policies(draw):
    min_months = draw(st.integers(1, 6))
    max_months = min_months + draw(st.integers(0, 30))
    menu = draw(st.lists(st.integers(min_months, max_months), min_size=1, max_size=3, unique=True))
    return make_policy(
        cost={
            "cap_annual_bp": draw(st.integers(600, 3600)),
            "lpr_one_year_bp": draw(st.integers(100, 600)),
            "lpr_flag_multiple": draw(st.integers(1, 6)),
        },
        extension={
            "lengths_days": draw(
                st.lists(st.integers(1, 180), min_size=1, max_size=3, unique=True)
            ),
            "accrue_contract_interest": draw(st.booleans()),
            "fee": draw(fees()),
        },
        instalment={
            "min_months": min_months, "max_months": max_months, "menu_months": menu,
            "min_instalment_fen": draw(st.integers(1, 50_000)),
            "rate": {"basis": draw(st.sampled_from(["annual_nominal", "monthly"])),
                     "bp": draw(st.integers(0, 3000))},
            "fee": draw(fees()),
        },
        partial_payment={"min_share_bp": draw(st.integers(1, 10_000)),
                         "latest_days": draw(st.integers(1, 60))},
        penalty_waiver={"max_share_bp": draw(st.integers(1, 10_000))},
    )


hardship = st.sampled_from([None, "job_loss", "illness", "other_verified", "lottery_loss"])


@PROPERTY
@given(
    principal=st.integers(0, 100_000_000), free=st.integers(0, 10_000_000),
    fee=st.integers(0, 1_000_000), rate_bp=st.integers(0, 500), months=st.integers(1, 60),
)
def test_instalments_sum_exactly_to_the_total_repayable(principal, free, fee, rate_bp, months):
    schedule = instalment_schedule(
        interest_bearing_fen=principal, interest_free_fen=free, fee_fen=fee,
        monthly_rate=Fraction(rate_bp, 10_000), months=months, anchor=TODAY,
    )
    interest = sum(item.interest_fen for item in schedule)
    assert sum(item.amount_fen for item in schedule) == principal + free + fee + interest
    assert sum(item.rescheduled_fen for item in schedule) == principal + free
    assert len(schedule) == months
    assert all(min(i.rescheduled_fen, i.interest_fen, i.fee_fen) >= 0 for i in schedule)
    if principal + free >= 100 * months:  # at least ¥1 a month to reschedule
        assert all(item.amount_fen > 0 for item in schedule)


@PROPERTY
@given(position=positions(), policy=policies(), reason=hardship)
def test_every_offered_plan_honours_the_cap_and_has_positive_instalments(position, policy, reason):
    offers = options_for(position, policy, today=TODAY, hardship_reason=reason)
    for option in offers.options:
        assert (option.plan is None) is (not option.eligible)
        if not option.eligible:
            assert option.reason_code and option.reason_text and option.human_review
            continue
        plan = option.plan
        assert plan.annual_cost_bp <= policy.cost.cap_annual_bp
        flag_expected = plan.annual_cost_bp > policy.cost.flag_threshold_bp
        assert plan.flagged_above_lpr_multiple is flag_expected
        assert all(item.amount_fen > 0 for item in plan.schedule)
        assert sum(item.amount_fen for item in plan.schedule) == plan.total_repayable_fen
        if option.kind is OptionKind.INSTALMENT:
            assert plan.smallest_instalment_fen >= policy.instalment.min_instalment_fen


@PROPERTY
@given(position=positions(), policy=policies(), affordable=st.integers(1, 5_000_000))
def test_monthly_counter_offer_never_exceeds_the_stated_amount(position, policy, affordable):
    answer = counter_offer(position, policy, today=TODAY, monthly_affordable_fen=affordable)
    if answer.option is None:
        assert answer.outcome is CounterOutcome.NONE and answer.reason_code
        return
    plan = answer.option.plan
    assert plan.largest_instalment_fen <= affordable
    assert plan.annual_cost_bp <= policy.cost.cap_annual_bp
    assert plan.smallest_instalment_fen >= policy.instalment.min_instalment_fen
    months = answer.option.term_months
    if months > policy.instalment.min_months:  # the fewest months: one fewer does not fit
        shorter = instalment_plan(position, policy.instalment, policy.cost, today=TODAY,
                                  months=months - 1)
        assert (shorter.largest_instalment_fen > affordable
                or shorter.annual_cost_bp > policy.cost.cap_annual_bp
                or shorter.smallest_instalment_fen < policy.instalment.min_instalment_fen)


@PROPERTY
@given(
    position=positions(), policy=policies(),
    amount=st.integers(1, 5_000_000), days=st.integers(-5, 90),
)
def test_amount_by_date_counter_offer_never_asks_for_more(position, policy, amount, days):
    pay_by = TODAY + timedelta(days=days)
    answer = counter_offer(position, policy, today=TODAY, amount_by_date_fen=amount,
                           pay_by_date=pay_by)
    if answer.option is None:
        assert answer.outcome is CounterOutcome.NONE and answer.reason_code
        return
    plan = answer.option.plan
    assert plan.largest_instalment_fen <= amount
    assert plan.annual_cost_bp <= policy.cost.cap_annual_bp
    if answer.option.kind is OptionKind.INSTALMENT:
        assert plan.schedule[0].due_date >= pay_by  # never earlier than the borrower said
    else:
        assert plan.schedule[0].due_date <= pay_by


@PROPERTY
@given(position=positions(), days=st.integers(1, 365), fee_a=st.integers(0, 100_000),
       extra=st.integers(0, 100_000), accrue=st.booleans())
def test_extension_cost_is_monotone_in_the_fee(position, days, fee_a, extra, accrue):
    assume(position.total_due_fen > 0)

    def cost(fee: int) -> int:
        policy = make_policy(extension={
            "accrue_contract_interest": accrue,
            "fee": {"basis": "fixed_fen", "value": fee, "disclosed_clause": CLAUSE},
        })
        return extension_plan(position, policy.extension, policy.cost, today=TODAY,
                              days=days).annual_cost_bp

    assert cost(fee_a) <= cost(fee_a + extra)


@PROPERTY
@given(position=positions(), months=st.integers(1, 36), rate_bp=st.integers(0, 3000),
       fee_a=st.integers(0, 1_000), extra=st.integers(0, 1_000))
def test_instalment_cost_is_monotone_in_the_fee(position, months, rate_bp, fee_a, extra):
    assume(position.total_due_fen > 0)

    def cost(fee_bp: int) -> int:
        policy = make_policy(instalment={
            "min_months": 1, "max_months": 36, "menu_months": [months],
            "rate": {"basis": "annual_nominal", "bp": rate_bp},
            "fee": {"basis": "bp_of_rescheduled", "value": fee_bp, "disclosed_clause": CLAUSE},
        })
        return instalment_plan(position, policy.instalment, policy.cost, today=TODAY,
                               months=months).annual_cost_bp

    assert cost(fee_a) <= cost(fee_a + extra)


@st.composite
def flows(draw):
    """Loan-like flows: each payment at most the financed amount. (With 1 fen financed and
    ¥20,000 repaid the cost is ~1e20 bp, where float noise exceeds one basis point.)"""
    financed = draw(st.integers(10_000, 10_000_000))
    payments = draw(st.lists(st.integers(0, financed), min_size=1, max_size=24))
    return financed, payments


@PROPERTY
@given(flow=flows(), index=st.integers(0, 23), extra_bp=st.integers(0, 10_000))
def test_raising_any_payment_never_lowers_the_cost(flow, index, extra_bp):
    financed, payments = flow
    extra = financed * extra_bp // 10_000
    assume(sum(payments) >= financed)
    raised = list(payments)
    raised[index % len(raised)] += extra
    assert monthly_cost_bp(financed_fen=financed, payments_fen=payments) <= monthly_cost_bp(
        financed_fen=financed, payments_fen=raised
    )
    dated = [(TODAY + timedelta(days=30 * (k + 1)), p) for k, p in enumerate(payments)]
    dated_raised = [(TODAY + timedelta(days=30 * (k + 1)), p) for k, p in enumerate(raised)]
    assert dated_cost_bp(financed_fen=financed, start=TODAY, payments=dated) <= dated_cost_bp(
        financed_fen=financed, start=TODAY, payments=dated_raised
    )
