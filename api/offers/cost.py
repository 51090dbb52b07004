"""Annualised all-in cost (O1): the IRR of every cash flow an arrangement causes.

Cash-flow convention: at t0 the borrower "receives" the financed amount (the balance the
arrangement defers, see plans.py for each kind) and then pays every instalment, which
already includes all interest and every fee. The result is the EFFECTIVE annual rate
(compound, 实际年化), returned in integer basis points and rounded UP to the next whole
basis point so a disclosed or capped figure never understates the cost. The effective
rate is ≥ the nominal "monthly IRR × 12" figure, so checking the cap on it is the
stricter reading of O1. (中国人民银行公告〔2021〕第3号 ◐: the annualised rate covers every
cost relative to the principal actually used, compound or simple annualisation allowed.)

Two solvers, chosen by the shape of the flows:

* Monthly instalment plans are periodic by construction, so their IRR is the period
  rate r of `numpy_financial.irr` (a maintained, well-known implementation), annualised
  as (1 + r)^12 − 1. Treating months as equal periods (rather than 28–31 actual days)
  means a plan at a stated monthly rate discloses exactly that rate instead of one
  perturbed by February.
* Extensions, partial payments and waivers are dated single payments N days away, so
  there is no period to speak of: we solve XNPV = 0 for the annual rate with actual/365
  year fractions, using `scipy.optimize.brentq`, which brackets the root and so cannot
  wander off to a spurious one. With all payments after t0, XNPV is strictly decreasing
  in the rate, so the root is unique.

Floats live only inside this module; callers get an int.
"""

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, localcontext

import numpy_financial as npf
from scipy.optimize import brentq

from api.offers.fen import BP_PER_UNIT

DAYS_PER_YEAR = 365
MONTHS_PER_YEAR = 12
# Solver noise is ~1e-12 in the rate; round it away before taking the ceiling so an
# exact 1 800.000 000 bp does not become 1 801 bp.
_BP_DECIMALS = 4
_LOG_GROWTH_LIMIT = 1e6  # ln(1 + annual rate); beyond any real loan, bounds the search


def _log_growth_to_bp(log_growth: float) -> int:
    """ln(1 + R) → R in basis points, rounded up. Decimal so absurd test inputs (a fee of
    30× the amount for one day) give a huge integer instead of float overflow."""
    with localcontext() as ctx:
        ctx.prec = 40
        rate_bp = (Decimal(log_growth).exp() - 1) * BP_PER_UNIT
        if rate_bp.adjusted() < ctx.prec - _BP_DECIMALS:  # room left to round the noise off
            rate_bp = round(rate_bp, _BP_DECIMALS)
        return math.ceil(rate_bp)


def _check_flows(financed_fen: int, payments_fen: Sequence[int]) -> bool:
    """Validate; True when the flows cost nothing (paid back exactly what was deferred)."""
    if financed_fen <= 0 or not payments_fen or min(payments_fen) < 0:
        raise ValueError("need a positive financed amount and non-negative payments")
    total = sum(payments_fen)
    if total < financed_fen:
        raise ValueError("payments below the financed amount: not a cost")
    return total == financed_fen


def monthly_cost_bp(*, financed_fen: int, payments_fen: Sequence[int]) -> int:
    """Effective annual cost of payments falling 1, 2, … n months after t0."""
    if _check_flows(financed_fen, payments_fen):
        return 0
    period_rate = npf.irr([-financed_fen, *payments_fen])
    if not math.isfinite(period_rate) or period_rate < 0:
        raise ValueError("no internal rate of return for these flows")
    return _log_growth_to_bp(MONTHS_PER_YEAR * math.log1p(period_rate))


def dated_cost_bp(
    *, financed_fen: int, start: date, payments: Sequence[tuple[date, int]]
) -> int:
    """Effective annual cost of dated payments (XIRR, actual/365).

    Solved for g = ln(1 + R) rather than R: XNPV is then a sum of exponentials,
    smooth and strictly decreasing in g, and huge rates cannot overflow.
    """
    if _check_flows(financed_fen, [amount for _, amount in payments]):
        return 0
    years = [(due - start).days / DAYS_PER_YEAR for due, _ in payments]
    if min(years) <= 0:
        raise ValueError("every payment must fall after the start date")

    def xnpv(log_growth: float) -> float:
        return -financed_fen + sum(
            amount * math.exp(-log_growth * t) for t, (_, amount) in zip(years, payments)
        )

    upper = 1.0
    while xnpv(upper) > 0:  # cost above e − 1 ≈ 172 % p.a.: widen the bracket
        upper *= 4
        if upper > _LOG_GROWTH_LIMIT:
            raise ValueError("cost too high to solve")
    log_growth = brentq(xnpv, 0.0, upper, xtol=1e-15, rtol=1e-15, maxiter=500)
    return _log_growth_to_bp(log_growth)
