"""Allocation order and integer-fen arithmetic (pure)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.payments.allocation import (
    BalanceAllocation,
    OpenItem,
    allocate_to_balances,
    allocate_to_items,
)

BALANCES = {
    "fees_fen": 1_000,
    "penalty_interest_fen": 2_000,
    "outstanding_interest_fen": 5_000,
    "outstanding_principal_fen": 100_000,
}


def test_fees_are_paid_first_then_penalty_interest_then_interest_then_principal():
    assert allocate_to_balances(500, BALANCES) == BalanceAllocation(fees_fen=500)
    assert allocate_to_balances(2_500, BALANCES) == BalanceAllocation(
        fees_fen=1_000, penalty_interest_fen=1_500
    )
    assert allocate_to_balances(10_000, BALANCES) == BalanceAllocation(
        fees_fen=1_000, penalty_interest_fen=2_000, interest_fen=5_000, principal_fen=2_000
    )


def test_paying_the_exact_total_clears_every_balance():
    allocation = allocate_to_balances(108_000, BALANCES)
    assert allocation == BalanceAllocation(1_000, 2_000, 5_000, 100_000)


@pytest.mark.parametrize("amount", [108_001, 0, -1])
def test_overpayment_and_non_positive_amounts_are_refused(amount):
    with pytest.raises(ValueError):
        allocate_to_balances(amount, BALANCES)


@given(
    balances=st.fixed_dictionaries({name: st.integers(0, 10**9) for name in BALANCES}),
    data=st.data(),
)
def test_allocation_adds_up_and_never_exceeds_a_balance(balances, data):
    total = sum(balances.values())
    if total == 0:
        return
    amount = data.draw(st.integers(1, total))
    allocation = allocate_to_balances(amount, balances)
    assert allocation.total_fen == amount
    assert allocation.fees_fen <= balances["fees_fen"]
    assert allocation.penalty_interest_fen <= balances["penalty_interest_fen"]
    assert allocation.interest_fen <= balances["outstanding_interest_fen"]
    assert allocation.principal_fen <= balances["outstanding_principal_fen"]
    # A later balance is touched only once every earlier one is cleared.
    parts = [allocation.fees_fen, allocation.penalty_interest_fen, allocation.interest_fen]
    limits = [balances[n] for n in list(BALANCES)[:3]]
    for i, part in enumerate(parts):
        if part < limits[i]:
            assert all(later == 0 for later in [*parts, allocation.principal_fen][i + 1 :])


def test_items_are_paid_oldest_first_and_partially():
    items = [OpenItem(1, 300), OpenItem(2, 500), OpenItem(3, 200)]
    applied = allocate_to_items(600, items)
    assert [(a.item_id, a.applied_fen, a.fully_paid) for a in applied] == [
        (1, 300, True),
        (2, 300, False),
    ]


def test_amount_beyond_the_items_is_not_applied_to_them():
    applied = allocate_to_items(1_000, [OpenItem(1, 300)])
    assert [(a.item_id, a.applied_fen) for a in applied] == [(1, 300)]
