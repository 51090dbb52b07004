"""Integer-fen repayment schedules.

Rounding rules (every schedule sums exactly to its total repayable; no float is used):

* Instalment plan (分期). The amount being rescheduled has two parts:
  - the outstanding principal bears the plan's interest, amortised as a level annuity
    (等额本息). The level payment is the exact annuity, computed in rational arithmetic,
    rounded DOWN to the fen. Each period's interest is balance × monthly rate rounded
    HALF-UP to the fen; the principal part is level payment − interest (kept within
    [0, balance]). The LAST instalment repays whatever balance is left plus its
    interest, so it absorbs every rounding difference.
  - accrued interest, penalty interest and fees already owed bear no further interest
    (no interest on interest) and are split evenly: floor division, the LAST
    instalment takes the remainder. A disclosed plan fee is split the same way.
  With a zero rate this reduces to floor(amount / months) with the remainder last.
* Single payments (展期, 部分还款, 罚息减免) carry no rounding of their own: their
  interest and fee are rounded where they are computed (see plans.py).
"""

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from api.offers.dates import monthly_due_dates
from api.offers.fen import round_half_up, split_evenly


@dataclass(frozen=True)
class Instalment:
    """One payment. `rescheduled_fen` repays part of the amount the arrangement defers."""

    number: int
    due_date: date
    rescheduled_fen: int
    interest_fen: int
    fee_fen: int
    amount_fen: int

    def __post_init__(self) -> None:
        parts = (self.rescheduled_fen, self.interest_fen, self.fee_fen)
        if min(parts) < 0 or sum(parts) != self.amount_fen:
            raise ValueError(f"inconsistent instalment {self}")


def single_payment(
    *, due_date: date, rescheduled_fen: int, interest_fen: int = 0, fee_fen: int = 0
) -> tuple[Instalment, ...]:
    """A one-payment schedule; empty when nothing is left to pay."""
    amount = rescheduled_fen + interest_fen + fee_fen
    if amount == 0:
        return ()
    return (Instalment(1, due_date, rescheduled_fen, interest_fen, fee_fen, amount),)


def level_payment_fen(principal_fen: int, monthly_rate: Fraction, months: int) -> int:
    """The exact annuity payment P·r/(1−(1+r)^−n), rounded down to the fen."""
    if monthly_rate == 0:
        return principal_fen // months
    growth = (1 + monthly_rate) ** months
    exact = principal_fen * monthly_rate * growth / (growth - 1)
    return exact.numerator // exact.denominator


def amortise(principal_fen: int, monthly_rate: Fraction, months: int) -> list[tuple[int, int]]:
    """(principal part, interest) per period on a declining balance; see module doc."""
    level = level_payment_fen(principal_fen, monthly_rate, months)
    balance = principal_fen
    rows = []
    for period in range(1, months + 1):
        interest = round_half_up(balance * monthly_rate)
        if period == months:
            repaid = balance
        else:
            repaid = min(max(level - interest, 0), balance)
        rows.append((repaid, interest))
        balance -= repaid
    return rows


def instalment_schedule(
    *,
    interest_bearing_fen: int,
    interest_free_fen: int,
    fee_fen: int,
    monthly_rate: Fraction,
    months: int,
    anchor: date,
) -> tuple[Instalment, ...]:
    """Monthly instalments due on `anchor`'s day-of-month, starting one month after it."""
    if months < 1:
        raise ValueError("an instalment plan needs at least one month")
    amortised = amortise(interest_bearing_fen, monthly_rate, months)
    free_parts = split_evenly(interest_free_fen, months)
    fee_parts = split_evenly(fee_fen, months)
    dates = monthly_due_dates(anchor, months)
    return tuple(
        Instalment(
            number=k + 1,
            due_date=dates[k],
            rescheduled_fen=amortised[k][0] + free_parts[k],
            interest_fen=amortised[k][1],
            fee_fen=fee_parts[k],
            amount_fen=amortised[k][0] + free_parts[k] + amortised[k][1] + fee_parts[k],
        )
        for k in range(months)
    )
