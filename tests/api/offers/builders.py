"""Builders for offers tests: a position and a policy with keyword overrides."""

import copy
import json
from datetime import date, timedelta

import yaml

from api.offers.policy import Policy, policy_version
from api.offers.position import LoanPosition

PRODUCT = "普惠信用贷"
TODAY = date(2026, 3, 15)

# A test policy of its own, so tuning the shipped YAML never breaks these tests.
BASE_POLICY: dict = {
    "product_name": PRODUCT,
    "cost": {"cap_annual_bp": 2400, "lpr_one_year_bp": 300, "lpr_flag_multiple": 4},
    "extension": {
        "lengths_days": [15, 30],
        "max_days_past_due": 60,
        "accrue_contract_interest": True,
        "contract_interest_days_per_year": 365,
        "fee": {"basis": "bp_of_principal", "value": 15, "disclosed_clause": "第9.2条"},
    },
    "instalment": {
        "min_months": 3,
        "max_months": 12,
        "menu_months": [3, 6, 12],
        "min_instalment_fen": 10_000,
        "rate": {"basis": "annual_nominal", "bp": 1000},
        "fee": {"basis": "fixed_fen", "value": 0},
        "max_days_past_due": 180,
    },
    "partial_payment": {"min_share_bp": 2000, "latest_days": 15},
    "penalty_waiver": {
        "max_share_bp": 5000,
        "accepted_reasons": [
            "job_loss", "illness", "business_failure", "bereavement", "disaster", "other_verified",
        ],
        "pay_within_days": 7,
    },
}


def _merge(base: dict, overrides: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)  # None removes a section: "not offered"
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def policy_yaml(**overrides) -> bytes:
    data = _merge(BASE_POLICY, overrides)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


def make_policy(**overrides) -> Policy:
    """BASE_POLICY with nested overrides, e.g. make_policy(cost={"cap_annual_bp": 1000}).

    Validated like a file, minus the YAML round trip (too slow for property tests);
    the version hashes the canonical JSON so different policies get different versions.
    """
    data = _merge(BASE_POLICY, overrides)
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return Policy.model_validate({**data, "version": policy_version(canonical)})


def make_position(
    *,
    principal_fen: int = 300_000,
    interest_fen: int = 15_000,
    penalty_fen: int = 6_000,
    fees_fen: int = 4_000,
    contract_rate_bp: int = 1800,
    days_past_due: int = 35,
    today: date = TODAY,
    product_name: str = PRODUCT,
) -> LoanPosition:
    """Defaults are the seeded demo loan of 张伟 (total due ¥3,250.00, 35 days past due)."""
    return LoanPosition(
        product_name=product_name,
        outstanding_principal_fen=principal_fen,
        outstanding_interest_fen=interest_fen,
        penalty_interest_fen=penalty_fen,
        fees_fen=fees_fen,
        contract_rate_bp=contract_rate_bp,
        due_date=today - timedelta(days=days_past_due),
        as_of=today,
    )
