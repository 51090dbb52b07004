"""The terms snapshot a quote carries and an agreement keeps, and its hash.

`terms` is plain JSON (ints in fen and bp, ISO dates): everything a borrower was shown
and agreed to, plus what the quote is bound to (borrower, loan, conversation, policy
version), so those bindings are covered by `terms_hash` too. The hash is SHA-256 over
canonical JSON (sorted keys, no whitespace, UTF-8 as is) — the same canonical form the
audit chain hashes.
"""

import hashlib
import json
from datetime import date
from typing import Any

from api.audit.service import canonical_json
from api.loans.models import Loan
from api.offers import LoanPosition, Option, OptionKind, Policy

TERMS_FORMAT = 1


def terms_hash(terms: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(terms).encode("utf-8")).hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fee_clause(option: Option, policy: Policy) -> str | None:
    rules = {OptionKind.EXTENSION: policy.extension, OptionKind.INSTALMENT: policy.instalment}
    kind_rules = rules.get(option.kind)
    fee = getattr(kind_rules, "fee", None)
    return fee.disclosed_clause if fee is not None and fee.value > 0 else None


def _position(position: LoanPosition) -> dict[str, int]:
    return {
        "outstanding_principal_fen": position.outstanding_principal_fen,
        "outstanding_interest_fen": position.outstanding_interest_fen,
        "penalty_interest_fen": position.penalty_interest_fen,
        "fees_fen": position.fees_fen,
        "total_due_fen": position.total_due_fen,
        "days_past_due": position.days_past_due,
    }


def option_terms(
    option: Option,
    *,
    position: LoanPosition,
    policy: Policy,
    loan: Loan,
    conversation_id: str,
    hardship_reason: str | None = None,
    counter_offer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The full snapshot of one eligible option (its plan must be present)."""
    plan = option.plan
    if plan is None or not plan.schedule:
        raise ValueError("only an eligible option with a schedule can be quoted")
    terms = {
        "format": TERMS_FORMAT,
        "kind": option.kind.value,
        "name": option.name,
        "term_days": option.term_days,
        "term_months": option.term_months,
        "borrower_id": loan.borrower_id,
        "loan_id": loan.id,
        "contract_no": loan.contract_no,
        "conversation_id": conversation_id,
        "product_name": policy.product_name,
        "policy_version": policy.version,
        "as_of": position.as_of.isoformat(),
        "position": _position(position),
        "financed_fen": plan.financed_fen,
        "total_repayable_fen": plan.total_repayable_fen,
        "interest_fen": plan.interest_fen,
        "fees_fen": plan.fees_fen,
        "fee_clause": _fee_clause(option, policy),
        "waived_fen": plan.waived_fen,
        "remaining_balance_fen": plan.remaining_balance_fen,
        "annual_cost_bp": plan.annual_cost_bp,
        "cap_annual_bp": policy.cost.cap_annual_bp,
        "lpr_flag_threshold_bp": policy.cost.flag_threshold_bp,
        "flagged_above_lpr_multiple": plan.flagged_above_lpr_multiple,
        "hardship_reason": hardship_reason if option.kind is OptionKind.PENALTY_WAIVER else None,
        "counter_offer": counter_offer,
        "schedule": [
            {
                "number": item.number,
                "due_date": item.due_date.isoformat(),
                "rescheduled_fen": item.rescheduled_fen,
                "interest_fen": item.interest_fen,
                "fee_fen": item.fee_fen,
                "amount_fen": item.amount_fen,
            }
            for item in plan.schedule
        ],
    }
    # Exactly what the JSON column will hand back, so the hash taken now is the hash
    # recomputed later.
    return json.loads(canonical_json(terms))


def schedule_dates(terms: dict[str, Any]) -> list[date]:
    return [date.fromisoformat(item["due_date"]) for item in terms["schedule"]]


def largest_amount_fen(terms: dict[str, Any]) -> int:
    return max(item["amount_fen"] for item in terms["schedule"])
