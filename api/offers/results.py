"""What the engine returns: priced plans, menu options and counter-offer answers."""

from dataclasses import dataclass
from datetime import date

from api.offers.codes import CounterOutcome, OptionKind, ReasonCode
from api.offers.schedule import Instalment


@dataclass(frozen=True)
class Plan:
    """A priced arrangement: every payment the borrower makes under it.

    `financed_fen` is the amount the arrangement defers (the t0 inflow of the IRR);
    `total_repayable_fen` = financed + interest + fees = the sum of the schedule, always.
    `remaining_balance_fen` is what stays owed under the contract and is NOT rescheduled
    by this arrangement (only a partial payment leaves any).
    """

    financed_fen: int
    schedule: tuple[Instalment, ...]
    total_repayable_fen: int
    interest_fen: int
    fees_fen: int
    waived_fen: int
    remaining_balance_fen: int
    annual_cost_bp: int  # effective annual IRR, rounded up (O1)
    flagged_above_lpr_multiple: bool

    def __post_init__(self) -> None:
        scheduled = sum(item.amount_fen for item in self.schedule)
        expected = self.financed_fen + self.interest_fen + self.fees_fen
        if not scheduled == self.total_repayable_fen == expected:
            raise ValueError("schedule does not sum to the total repayable")

    @property
    def largest_instalment_fen(self) -> int:
        return max((item.amount_fen for item in self.schedule), default=0)

    @property
    def smallest_instalment_fen(self) -> int:
        return min((item.amount_fen for item in self.schedule), default=0)

    @property
    def last_due_date(self) -> date | None:
        return self.schedule[-1].due_date if self.schedule else None


@dataclass(frozen=True)
class Option:
    """One menu entry. `plan` is present exactly when the option is eligible, so a plan
    above the hard cap can never leave the engine (it becomes cost_above_cap)."""

    kind: OptionKind
    name: str
    eligible: bool
    reason_code: ReasonCode | None
    reason_text: str | None
    human_review: bool  # D2: an automated refusal comes with a human-review path
    term_days: int | None = None  # extension length or days to the promise date
    term_months: int | None = None
    plan: Plan | None = None

    def __post_init__(self) -> None:
        if self.eligible != (self.plan is not None) or self.eligible == bool(self.reason_code):
            raise ValueError("an eligible option has a plan and no reason, and vice versa")


@dataclass(frozen=True)
class OfferSet:
    product_name: str
    policy_version: str
    as_of: date
    options: tuple[Option, ...]

    def of_kind(self, kind: OptionKind) -> tuple[Option, ...]:
        return tuple(option for option in self.options if option.kind is kind)

    @property
    def eligible(self) -> tuple[Option, ...]:
        return tuple(option for option in self.options if option.eligible)


@dataclass(frozen=True)
class CounterOffer:
    """The answer to a borrower's own proposal (O4, L3). Never asks for more than the
    stated amount: `option` is a plan within it, or None with a reason and a human path."""

    outcome: CounterOutcome
    policy_version: str
    option: Option | None
    reason_code: ReasonCode | None
    reason_text: str | None
    human_review: bool
