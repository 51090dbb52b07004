"""Who may have which option, and turning a plan or a refusal into a menu `Option`.

Every refusal carries a reason code and its Chinese text (D2); `human_review` is set on
every refusal so the borrower always has a path to a person (PIPL Art. 24).
"""

from datetime import date

from api.core.money import format_fen
from api.offers.codes import OptionKind, ReasonCode, Refusal
from api.offers.errors import PolicyMismatch
from api.offers.policy import (
    CostRules,
    ExtensionRules,
    InstalmentRules,
    PartialPaymentRules,
    PenaltyWaiverRules,
    Policy,
)
from api.offers.position import LoanPosition
from api.offers.results import Option, Plan
from api.offers.schedule import Instalment
from api.offers.texts import format_bp, option_name, reason_text

KindRules = ExtensionRules | InstalmentRules | PartialPaymentRules | PenaltyWaiverRules


def check_position(position: LoanPosition, policy: Policy, *, today: date) -> None:
    """Refuse to price another product, or balances that are not today's: stale balances
    would show the borrower wrong amounts (L1)."""
    if position.product_name != policy.product_name:
        raise PolicyMismatch(
            f"position is for {position.product_name}, policy for {policy.product_name}"
        )
    if position.as_of != today:
        raise PolicyMismatch(f"position is as of {position.as_of}, not today ({today})")


def rules_for(policy: Policy, kind: OptionKind) -> KindRules | None:
    return {
        OptionKind.EXTENSION: policy.extension,
        OptionKind.INSTALMENT: policy.instalment,
        OptionKind.PARTIAL_PAYMENT: policy.partial_payment,
        OptionKind.PENALTY_WAIVER: policy.penalty_waiver,
    }[kind]


def kind_refusal(kind: OptionKind, position: LoanPosition, policy: Policy) -> Refusal | None:
    """Refusals that apply to every variant of a kind."""
    rules = rules_for(policy, kind)
    values = {"option": option_name(kind)}
    if rules is None:
        return Refusal(ReasonCode.NOT_OFFERED_FOR_PRODUCT, values)
    if position.total_due_fen == 0:
        return Refusal(ReasonCode.NOTHING_DUE, values)
    limit = rules.max_days_past_due
    if limit is not None and position.days_past_due > limit:
        values |= {"days_past_due": str(position.days_past_due), "max_days_past_due": str(limit)}
        return Refusal(ReasonCode.DAYS_PAST_DUE_EXCEEDED, values)
    return None


def hardship_refusal(
    position: LoanPosition, rules: PenaltyWaiverRules, hardship_reason: str | None
) -> Refusal | None:
    """罚息减免 needs penalty interest to waive and an accepted hardship reason code."""
    if position.penalty_interest_fen == 0:
        return Refusal(ReasonCode.NO_PENALTY_INTEREST)
    if not hardship_reason:
        return Refusal(ReasonCode.HARDSHIP_REASON_REQUIRED)
    if hardship_reason not in {reason.value for reason in rules.accepted_reasons}:
        return Refusal(ReasonCode.HARDSHIP_REASON_NOT_ACCEPTED)
    return None


def cost_refusal(plan: Plan, cost: CostRules) -> Refusal | None:
    """O1: a plan above the hard cap is never offered."""
    if plan.annual_cost_bp <= cost.cap_annual_bp:
        return None
    values = {"cost": format_bp(plan.annual_cost_bp), "cap": format_bp(cost.cap_annual_bp)}
    return Refusal(ReasonCode.COST_ABOVE_CAP, values)


def term_refusal(
    schedule: tuple[Instalment, ...], rules: InstalmentRules, *, months: int
) -> Refusal | None:
    """Every instalment must reach the product's minimum instalment."""
    if schedule and min(item.amount_fen for item in schedule) >= rules.min_instalment_fen:
        return None
    values = {"months": str(months), "min_instalment": format_fen(rules.min_instalment_fen)}
    return Refusal(ReasonCode.BALANCE_TOO_SMALL_FOR_TERM, values)


def offered(
    kind: OptionKind, plan: Plan, *, term_days: int | None = None, term_months: int | None = None
) -> Option:
    return Option(
        kind=kind, name=option_name(kind), eligible=True, reason_code=None,
        reason_text=None, human_review=False, term_days=term_days,
        term_months=term_months, plan=plan,
    )


def refused(
    kind: OptionKind,
    refusal: Refusal,
    *,
    term_days: int | None = None,
    term_months: int | None = None,
) -> Option:
    return Option(
        kind=kind, name=option_name(kind), eligible=False, reason_code=refusal.code,
        reason_text=reason_text(refusal), human_review=True, term_days=term_days,
        term_months=term_months, plan=None,
    )


def offered_within_cap(
    kind: OptionKind,
    plan: Plan,
    cost: CostRules,
    *,
    term_days: int | None = None,
    term_months: int | None = None,
) -> Option:
    """O1: every priced plan passes the hard cap here, including kinds that add no charge
    today, so a fee added to a policy later cannot slip a costly plan through."""
    term = {"term_days": term_days, "term_months": term_months}
    if refusal := cost_refusal(plan, cost):
        return refused(kind, refusal, **term)
    return offered(kind, plan, **term)
