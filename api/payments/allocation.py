"""How a payment is split: pure functions over integer fen.

Balances are reduced in this order, each fully before the next:

    1. fees (费用)              Loan.fees_fen
    2. penalty interest (罚息)   Loan.penalty_interest_fen
    3. interest (利息)           Loan.outstanding_interest_fen
    4. principal (本金)          Loan.outstanding_principal_fen

This is the order typical consumer-loan contracts stipulate ("先费用、后罚息、再利息、最后
本金"), and it follows the statutory default of 民法典 Art. 561 when a contract is silent
(costs of realising the claim, then interest, then the principal debt); penalty interest
is interest in that sense and is cleared before ordinary interest, as contracts usually
provide. A lender whose contract says otherwise changes `BALANCE_ORDER`, nothing else.

Separately, the payment is applied to the loan's open schedule items (pending or missed)
in due-date order, oldest first, so the earliest obligation is the first one cured.
"""

from collections.abc import Sequence
from dataclasses import dataclass

# Loan attribute names, in the order a payment pays them down.
BALANCE_ORDER = (
    "fees_fen",
    "penalty_interest_fen",
    "outstanding_interest_fen",
    "outstanding_principal_fen",
)


@dataclass(frozen=True)
class BalanceAllocation:
    """How many fen of one payment went to each balance; they add up to the payment."""

    fees_fen: int = 0
    penalty_interest_fen: int = 0
    interest_fen: int = 0
    principal_fen: int = 0

    @property
    def total_fen(self) -> int:
        return self.fees_fen + self.penalty_interest_fen + self.interest_fen + self.principal_fen


# BALANCE_ORDER attribute -> BalanceAllocation field
_ALLOCATION_FIELD = {
    "fees_fen": "fees_fen",
    "penalty_interest_fen": "penalty_interest_fen",
    "outstanding_interest_fen": "interest_fen",
    "outstanding_principal_fen": "principal_fen",
}


def allocate_to_balances(amount_fen: int, balances: dict[str, int]) -> BalanceAllocation:
    """Split `amount_fen` over `balances` (keyed by BALANCE_ORDER names) in that order.

    Refuses a non-positive amount and an amount above the balances' total: an
    overpayment is never absorbed silently.
    """
    if amount_fen <= 0:
        raise ValueError("a payment must be a positive number of fen")
    if any(balances[name] < 0 for name in BALANCE_ORDER):
        raise ValueError("balances must not be negative")
    if amount_fen > sum(balances[name] for name in BALANCE_ORDER):
        raise ValueError("payment exceeds the total due")
    remaining, parts = amount_fen, {}
    for name in BALANCE_ORDER:
        applied = min(remaining, balances[name])
        parts[_ALLOCATION_FIELD[name]] = applied
        remaining -= applied
    return BalanceAllocation(**parts)


@dataclass(frozen=True)
class OpenItem:
    item_id: int
    remaining_fen: int  # amount_fen - paid_fen


@dataclass(frozen=True)
class ItemAllocation:
    item_id: int
    applied_fen: int
    fully_paid: bool


def allocate_to_items(amount_fen: int, items: Sequence[OpenItem]) -> list[ItemAllocation]:
    """Apply `amount_fen` to `items` in the given (due-date) order. Items the amount does
    not reach are left out; an amount beyond the items' total is simply not applied to
    items (it still reduces the loan's balances, which bound the payment)."""
    if amount_fen <= 0:
        raise ValueError("a payment must be a positive number of fen")
    remaining, applied = amount_fen, []
    for item in items:
        if remaining == 0:
            break
        if item.remaining_fen <= 0:
            continue
        part = min(remaining, item.remaining_fen)
        applied.append(
            ItemAllocation(
                item_id=item.item_id, applied_fen=part, fully_paid=part == item.remaining_fen
            )
        )
        remaining -= part
    return applied
