"""What the engine prices: a loan's balances on one day, free of the database."""

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Self

from api.offers.fen import require_int

if TYPE_CHECKING:  # only for the annotation: the engine itself never touches the ORM
    from api.loans.models import Loan


@dataclass(frozen=True)
class LoanPosition:
    """Balances in fen as of `as_of`. Days past due are derived from the dates rather
    than stored, so the two can never disagree."""

    product_name: str
    outstanding_principal_fen: int
    outstanding_interest_fen: int
    penalty_interest_fen: int
    fees_fen: int
    contract_rate_bp: int  # annual, simple
    due_date: date
    as_of: date

    def __post_init__(self) -> None:
        for name in (
            "outstanding_principal_fen",
            "outstanding_interest_fen",
            "penalty_interest_fen",
            "fees_fen",
            "contract_rate_bp",
        ):
            require_int(name, getattr(self, name))

    @property
    def days_past_due(self) -> int:
        return max(0, (self.as_of - self.due_date).days)

    @property
    def total_due_fen(self) -> int:
        return self.outstanding_principal_fen + self.arrears_fen

    @property
    def arrears_fen(self) -> int:
        """Interest, penalty interest and fees already owed (they bear no plan interest)."""
        return self.outstanding_interest_fen + self.penalty_interest_fen + self.fees_fen

    @classmethod
    def from_loan(cls, loan: "Loan", *, as_of: date) -> Self:
        return cls(
            product_name=loan.product_name,
            outstanding_principal_fen=loan.outstanding_principal_fen,
            outstanding_interest_fen=loan.outstanding_interest_fen,
            penalty_interest_fen=loan.penalty_interest_fen,
            fees_fen=loan.fees_fen,
            contract_rate_bp=loan.contract_rate_bp,
            due_date=loan.due_date,
            as_of=as_of,
        )
