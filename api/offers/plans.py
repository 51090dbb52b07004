"""Build and price one arrangement of each kind. What "financed amount" (the IRR's t0
inflow) means differs by kind, so each builder says so.

Plans here are priced but not judged: eligibility.py decides whether one may be offered.
"""

from datetime import date, timedelta
from fractions import Fraction

from api.offers.cost import dated_cost_bp, monthly_cost_bp
from api.offers.fen import BP_PER_UNIT, round_half_up, share_floor
from api.offers.policy import (
    CostRules,
    ExtensionRules,
    InstalmentRules,
    PenaltyWaiverRules,
)
from api.offers.position import LoanPosition
from api.offers.results import Plan
from api.offers.schedule import Instalment, instalment_schedule, single_payment


def _plan(
    *,
    cost: CostRules,
    financed_fen: int,
    schedule: tuple[Instalment, ...],
    annual_cost_bp: int,
    waived_fen: int = 0,
    remaining_balance_fen: int = 0,
) -> Plan:
    return Plan(
        financed_fen=financed_fen,
        schedule=schedule,
        total_repayable_fen=sum(item.amount_fen for item in schedule),
        interest_fen=sum(item.interest_fen for item in schedule),
        fees_fen=sum(item.fee_fen for item in schedule),
        waived_fen=waived_fen,
        remaining_balance_fen=remaining_balance_fen,
        annual_cost_bp=annual_cost_bp,
        flagged_above_lpr_multiple=annual_cost_bp > cost.flag_threshold_bp,
    )


def _single_payment_cost_bp(*, today: date, schedule: tuple[Instalment, ...]) -> int:
    if not schedule:
        return 0
    financed = sum(item.rescheduled_fen for item in schedule)
    payments = [(item.due_date, item.amount_fen) for item in schedule]
    return dated_cost_bp(financed_fen=financed, start=today, payments=payments)


def extension_plan(
    position: LoanPosition, rules: ExtensionRules, cost: CostRules, *, today: date, days: int
) -> Plan:
    """展期: the whole total due is financed and repaid in one payment `days` from today,
    with contract interest on the principal for those days (simple, half-up to the fen,
    if the policy says so) plus the disclosed fee."""
    principal = position.outstanding_principal_fen
    interest = 0
    if rules.accrue_contract_interest:
        interest = round_half_up(
            Fraction(
                principal * position.contract_rate_bp * days,
                BP_PER_UNIT * rules.contract_interest_days_per_year,
            )
        )
    fee = rules.fee.amount_fen(principal_fen=principal, rescheduled_fen=position.total_due_fen)
    schedule = single_payment(
        due_date=today + timedelta(days=days),
        rescheduled_fen=position.total_due_fen,
        interest_fen=interest,
        fee_fen=fee,
    )
    return _plan(
        cost=cost,
        financed_fen=position.total_due_fen,
        schedule=schedule,
        annual_cost_bp=_single_payment_cost_bp(today=today, schedule=schedule),
    )


def instalment_plan(
    position: LoanPosition, rules: InstalmentRules, cost: CostRules, *, today: date, months: int
) -> Plan:
    """分期: the whole total due is financed; principal bears the plan rate, arrears do
    not (see schedule.py); the disclosed fee is spread over the instalments."""
    schedule = instalment_schedule_for(position, rules, today=today, months=months)
    return price_instalments(position, cost, schedule=schedule)


def instalment_schedule_for(
    position: LoanPosition, rules: InstalmentRules, *, today: date, months: int
) -> tuple[Instalment, ...]:
    """The schedule alone, unpriced: cheap enough to try every term in a search."""
    fee = rules.fee.amount_fen(
        principal_fen=position.outstanding_principal_fen,
        rescheduled_fen=position.total_due_fen,
    )
    return instalment_schedule(
        interest_bearing_fen=position.outstanding_principal_fen,
        interest_free_fen=position.arrears_fen,
        fee_fen=fee,
        monthly_rate=rules.rate.monthly_rate(),
        months=months,
        anchor=today,
    )


def price_instalments(
    position: LoanPosition, cost: CostRules, *, schedule: tuple[Instalment, ...]
) -> Plan:
    annual_cost_bp = monthly_cost_bp(
        financed_fen=position.total_due_fen,
        payments_fen=[item.amount_fen for item in schedule],
    )
    return _plan(
        cost=cost, financed_fen=position.total_due_fen, schedule=schedule,
        annual_cost_bp=annual_cost_bp,
    )


def partial_payment_plan(
    position: LoanPosition, cost: CostRules, *, today: date, amount_fen: int, pay_by: date
) -> Plan:
    """部分还款: only the promised amount is financed (deferred from today to `pay_by`) and
    no charge is added, so its cost is 0. The rest stays owed under the contract."""
    amount = min(amount_fen, position.total_due_fen)  # never ask for more than is owed
    schedule = single_payment(due_date=pay_by, rescheduled_fen=amount)
    return _plan(
        cost=cost,
        financed_fen=amount,
        schedule=schedule,
        annual_cost_bp=_single_payment_cost_bp(today=today, schedule=schedule),
        remaining_balance_fen=position.total_due_fen - amount,
    )


def waiver_plan(
    position: LoanPosition, rules: PenaltyWaiverRules, cost: CostRules, *, today: date
) -> Plan:
    """罚息减免: up to the maximum share of penalty interest is waived (rounded down so the
    promise never exceeds the share); the rest of the total due is financed and paid
    within the policy's days, without charge."""
    waived = share_floor(position.penalty_interest_fen, rules.max_share_bp)
    financed = position.total_due_fen - waived
    schedule = single_payment(
        due_date=today + timedelta(days=rules.pay_within_days), rescheduled_fen=financed
    )
    return _plan(
        cost=cost,
        financed_fen=financed,
        schedule=schedule,
        annual_cost_bp=_single_payment_cost_bp(today=today, schedule=schedule),
        waived_fen=waived,
    )
