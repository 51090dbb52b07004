"""The forbearance menu (O4): every option kind for one loan position, priced (O1)."""

from datetime import date, timedelta

from api.offers.codes import OptionKind
from api.offers.eligibility import (
    check_position,
    hardship_refusal,
    kind_refusal,
    offered_within_cap,
    refused,
    term_refusal,
)
from api.offers.fen import share_ceil
from api.offers.plans import extension_plan, instalment_plan, partial_payment_plan, waiver_plan
from api.offers.policy import Policy
from api.offers.position import LoanPosition
from api.offers.results import OfferSet, Option


def options_for(
    position: LoanPosition,
    policy: Policy,
    *,
    today: date,
    hardship_reason: str | None = None,
) -> OfferSet:
    """Each option kind with its eligibility and, when eligible, its priced plan.

    Extensions come one per allowed length and instalment plans one per menu term, so a
    single variant can be refused (e.g. cost_above_cap) while others stand. A plan above
    the policy's hard cap is never returned. `hardship_reason` is a HardshipReason code;
    without an accepted one the penalty waiver is refused.
    """
    check_position(position, policy, today=today)
    options = (
        *_extension_options(position, policy, today=today),
        *_instalment_options(position, policy, today=today),
        _partial_payment_option(position, policy, today=today),
        _waiver_option(position, policy, today=today, hardship_reason=hardship_reason),
    )
    return OfferSet(
        product_name=policy.product_name,
        policy_version=policy.version,
        as_of=position.as_of,
        options=options,
    )


def _extension_options(position: LoanPosition, policy: Policy, *, today: date) -> list[Option]:
    kind = OptionKind.EXTENSION
    if refusal := kind_refusal(kind, position, policy):
        return [refused(kind, refusal)]
    options = []
    for days in policy.extension.lengths_days:
        plan = extension_plan(position, policy.extension, policy.cost, today=today, days=days)
        options.append(offered_within_cap(kind, plan, policy.cost, term_days=days))
    return options


def _instalment_options(position: LoanPosition, policy: Policy, *, today: date) -> list[Option]:
    kind = OptionKind.INSTALMENT
    if refusal := kind_refusal(kind, position, policy):
        return [refused(kind, refusal)]
    rules = policy.instalment
    options = []
    for months in rules.menu_months:
        plan = instalment_plan(position, rules, policy.cost, today=today, months=months)
        if refusal := term_refusal(plan.schedule, rules, months=months):
            options.append(refused(kind, refusal, term_months=months))
        else:
            options.append(offered_within_cap(kind, plan, policy.cost, term_months=months))
    return options


def _partial_payment_option(position: LoanPosition, policy: Policy, *, today: date) -> Option:
    """The menu shows the least the policy accepts, by the latest date it allows."""
    kind = OptionKind.PARTIAL_PAYMENT
    if refusal := kind_refusal(kind, position, policy):
        return refused(kind, refusal)
    rules = policy.partial_payment
    plan = partial_payment_plan(
        position,
        policy.cost,
        today=today,
        amount_fen=share_ceil(position.total_due_fen, rules.min_share_bp),
        pay_by=today + timedelta(days=rules.latest_days),
    )
    return offered_within_cap(kind, plan, policy.cost, term_days=rules.latest_days)


def _waiver_option(
    position: LoanPosition, policy: Policy, *, today: date, hardship_reason: str | None
) -> Option:
    kind = OptionKind.PENALTY_WAIVER
    refusal = kind_refusal(kind, position, policy) or hardship_refusal(
        position, policy.penalty_waiver, hardship_reason
    )
    if refusal:
        return refused(kind, refusal)
    rules = policy.penalty_waiver
    plan = waiver_plan(position, rules, policy.cost, today=today)
    return offered_within_cap(kind, plan, policy.cost, term_days=rules.pay_within_days)
