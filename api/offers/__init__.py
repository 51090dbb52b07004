"""Forbearance offers (O1–O4): per-product policies, schedules and their annualised cost.

A pure library: no database tables and no HTTP routes. Callers build a `LoanPosition`
(from a `Loan` or by hand), load the product's `Policy`, and call `options_for` for the
menu or `counter_offer` for a borrower's own proposal. Money is integer fen, rates are
integer basis points; floats exist only inside the IRR solver in `cost.py`.

Glossary: 展期 extension, 分期 instalment plan, 部分还款 partial payment with a
promise-to-pay date, 罚息减免 penalty-interest waiver.
"""

from api.offers.codes import CounterOutcome, HardshipReason, OptionKind, ReasonCode
from api.offers.counter import counter_offer
from api.offers.engine import options_for
from api.offers.policy import Policy, load_policies, load_policy, policy_for_product
from api.offers.position import LoanPosition
from api.offers.results import CounterOffer, OfferSet, Option, Plan
from api.offers.schedule import Instalment

__all__ = [
    "CounterOffer",
    "CounterOutcome",
    "HardshipReason",
    "Instalment",
    "LoanPosition",
    "OfferSet",
    "Option",
    "OptionKind",
    "Plan",
    "Policy",
    "ReasonCode",
    "counter_offer",
    "load_policies",
    "load_policy",
    "options_for",
    "policy_for_product",
]
