"""Answers to a borrower's own proposal (O4, L3).

"每月只能还300" gets the closest compliant instalment plan whose every instalment is at
most 300, or a reasoned "none" with a human path; "我X号能还Y" gets a partial payment with
a promise-to-pay date, the nearest compliant alternative, or a reasoned "none". No answer
ever asks for more than the amount the borrower stated.
"""

from datetime import date, timedelta

from api.core.money import format_fen
from api.offers.codes import CounterOutcome, OptionKind, ReasonCode, Refusal
from api.offers.dates import add_months
from api.offers.eligibility import (
    check_position,
    cost_refusal,
    kind_refusal,
    offered,
    term_refusal,
)
from api.offers.fen import require_int, share_ceil
from api.offers.plans import instalment_schedule_for, partial_payment_plan, price_instalments
from api.offers.policy import InstalmentRules, Policy
from api.offers.position import LoanPosition
from api.offers.results import CounterOffer, Option
from api.offers.texts import format_bp, format_date, reason_text


def counter_offer(
    position: LoanPosition,
    policy: Policy,
    *,
    today: date,
    monthly_affordable_fen: int | None = None,
    pay_by_date: date | None = None,
    amount_by_date_fen: int | None = None,
) -> CounterOffer:
    """Answer either a monthly amount, or an amount by a date (both date and amount)."""
    check_position(position, policy, today=today)
    dated = pay_by_date is not None or amount_by_date_fen is not None
    if (monthly_affordable_fen is not None) == dated:
        raise ValueError("give monthly_affordable_fen, or pay_by_date with amount_by_date_fen")
    if monthly_affordable_fen is not None:
        require_int("monthly_affordable_fen", monthly_affordable_fen, minimum=1)
        fit = fit_instalments(
            position, policy, today=today, affordable_fen=monthly_affordable_fen
        )
        if isinstance(fit, Refusal):
            return _answer(policy, CounterOutcome.NONE, refusal=fit)
        return _answer(policy, CounterOutcome.FITS, option=fit)
    if pay_by_date is None or amount_by_date_fen is None:
        raise ValueError("an amount-by-date proposal needs both pay_by_date and the amount")
    require_int("amount_by_date_fen", amount_by_date_fen, minimum=1)
    return _by_date(
        position, policy, today=today, amount_fen=amount_by_date_fen, pay_by=pay_by_date
    )


def fit_instalments(
    position: LoanPosition, policy: Policy, *, today: date, affordable_fen: int
) -> Option | Refusal:
    """The fewest months whose every instalment is ≤ `affordable_fen`, ≥ the product's
    minimum instalment and within the cost cap; otherwise the reason none is."""
    kind = OptionKind.INSTALMENT
    if refusal := kind_refusal(kind, position, policy):
        return refusal
    rules = policy.instalment
    if affordable_fen < rules.min_instalment_fen:
        return _below_minimum_instalment(rules)
    refusals: list[Refusal] = []
    for months in range(rules.min_months, rules.max_months + 1):
        # Price only the terms that fit: the schedule alone is much cheaper than an IRR.
        schedule = instalment_schedule_for(position, rules, today=today, months=months)
        if max(item.amount_fen for item in schedule) > affordable_fen:
            continue
        if term_refusal(schedule, rules, months=months):
            refusals.append(_below_minimum_instalment(rules))
            continue
        plan = price_instalments(position, policy.cost, schedule=schedule)
        if refusal := cost_refusal(plan, policy.cost):
            refusals.append(refusal)
            continue
        return offered(kind, plan, term_months=months)
    return _why_no_term_fits(position, rules, refusals, today=today, affordable_fen=affordable_fen)


def _below_minimum_instalment(rules: InstalmentRules) -> Refusal:
    return Refusal(
        ReasonCode.BELOW_MINIMUM_INSTALMENT,
        {"min_instalment": format_fen(rules.min_instalment_fen)},
    )


def _why_no_term_fits(
    position: LoanPosition,
    rules: InstalmentRules,
    refusals: list[Refusal],
    *,
    today: date,
    affordable_fen: int,
) -> Refusal:
    """Terms that fitted the amount but were refused explain best: the cap first, then
    the minimum instalment. Otherwise even the longest term asks for too much."""
    for code in (ReasonCode.COST_ABOVE_CAP, ReasonCode.BELOW_MINIMUM_INSTALMENT):
        for refusal in refusals:
            if refusal.code is code:
                return refusal
    longest = instalment_schedule_for(position, rules, today=today, months=rules.max_months)
    values = {
        "max_months": str(rules.max_months),
        "longest_term_instalment": format_fen(max(item.amount_fen for item in longest)),
        "affordable": format_fen(affordable_fen),
    }
    return Refusal(ReasonCode.EXCEEDS_MAX_MONTHS, values)


def _by_date(
    position: LoanPosition, policy: Policy, *, today: date, amount_fen: int, pay_by: date
) -> CounterOffer:
    """Partial payment with a promise-to-pay date; see the module docstring."""
    values = {"requested_date": format_date(pay_by), "amount": format_fen(amount_fen)}
    kind = OptionKind.PARTIAL_PAYMENT
    if pay_by < today:
        refusal: Refusal | None = Refusal(ReasonCode.PROMISE_DATE_IN_PAST, values)
    else:
        refusal = kind_refusal(kind, position, policy)
    if refusal:
        return _answer(policy, CounterOutcome.NONE, refusal=refusal)
    rules = policy.partial_payment
    minimum = share_ceil(position.total_due_fen, rules.min_share_bp)
    if min(amount_fen, position.total_due_fen) < minimum:
        values |= {"min_amount": format_fen(minimum), "min_share": format_bp(rules.min_share_bp)}
        refusal = Refusal(ReasonCode.BELOW_MINIMUM_SHARE, values)
        return _instalments_instead(
            position, policy, today=today, amount_fen=amount_fen, pay_by=pay_by, refusal=refusal
        )
    outcome, latest = CounterOutcome.FITS, today + timedelta(days=rules.latest_days)
    if pay_by > latest:
        # Same amount by the latest date the policy allows: the nearest compliant plan.
        # A human can still agree a later date (human_review is set on this answer).
        values |= {"latest_date": format_date(latest)}
        outcome, refusal = CounterOutcome.ALTERNATIVE, Refusal(
            ReasonCode.PROMISE_DATE_TOO_LATE, values
        )
        pay_by = latest
    plan = partial_payment_plan(
        position, policy.cost, today=today, amount_fen=amount_fen, pay_by=pay_by
    )
    if capped := cost_refusal(plan, policy.cost):
        return _answer(policy, CounterOutcome.NONE, refusal=capped)
    option = offered(kind, plan, term_days=(pay_by - today).days)
    return _answer(policy, outcome, option=option, refusal=refusal)


def _instalments_instead(
    position: LoanPosition,
    policy: Policy,
    *,
    today: date,
    amount_fen: int,
    pay_by: date,
    refusal: Refusal,
) -> CounterOffer:
    """Below the minimum share: an instalment plan whose instalments stay within the
    stated amount and whose first one falls no earlier than the stated date."""
    if add_months(today, 1) >= pay_by:
        fit = fit_instalments(position, policy, today=today, affordable_fen=amount_fen)
        if isinstance(fit, Option):
            return _answer(policy, CounterOutcome.ALTERNATIVE, option=fit, refusal=refusal)
    return _answer(policy, CounterOutcome.NONE, refusal=refusal)


def _answer(
    policy: Policy,
    outcome: CounterOutcome,
    *,
    option: Option | None = None,
    refusal: Refusal | None = None,
) -> CounterOffer:
    return CounterOffer(
        outcome=outcome,
        policy_version=policy.version,
        option=option,
        reason_code=refusal.code if refusal else None,
        reason_text=reason_text(refusal) if refusal else None,
        human_review=outcome is not CounterOutcome.FITS,
    )
