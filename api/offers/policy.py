"""Per-product forbearance policies: YAML files in policies/, loaded into typed objects.

Every parameter of the engine lives in these files (O1–O4), none in logic. A policy's
`version` is the short sha256 of the file bytes, so a quote can be bound to the exact
terms it was computed under; editing a file in any way changes the version.
"""

import hashlib
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)

from api.offers.codes import HardshipReason
from api.offers.errors import PolicyInvalid, PolicyNotFound
from api.offers.fen import BP_PER_UNIT
from api.offers.policy_parts import FeeRule, RateBasis

POLICY_DIR = Path(__file__).resolve().parent / "policies"
VERSION_HEX_CHARS = 16

NonNegInt = Annotated[StrictInt, Field(ge=0)]
PosInt = Annotated[StrictInt, Field(ge=1)]
ShareBp = Annotated[StrictInt, Field(ge=1, le=BP_PER_UNIT)]
MonthCount = Annotated[StrictInt, Field(ge=1, le=120)]


class _Rules(BaseModel):
    # Unknown keys are typos until proven otherwise: refuse them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CostRules(_Rules):
    cap_annual_bp: Annotated[StrictInt, Field(ge=1, le=BP_PER_UNIT)]  # hard cap, O1
    lpr_one_year_bp: PosInt
    lpr_flag_multiple: PosInt

    @property
    def flag_threshold_bp(self) -> int:
        return self.lpr_one_year_bp * self.lpr_flag_multiple


class ExtensionRules(_Rules):
    """展期: the whole balance moves to today + N days."""

    lengths_days: Annotated[tuple[PosInt, ...], Field(min_length=1)]
    max_days_past_due: NonNegInt
    accrue_contract_interest: StrictBool  # contract interest on principal for the N days
    contract_interest_days_per_year: Literal[360, 365] = 365  # 日利率 = 年利率 / this
    fee: FeeRule

    @model_validator(mode="after")
    def _lengths_unique(self) -> Self:
        if len(set(self.lengths_days)) != len(self.lengths_days):
            raise ValueError("lengths_days must not repeat")
        return self


class PlanRate(_Rules):
    basis: RateBasis
    bp: NonNegInt

    def monthly_rate(self) -> Fraction:
        per_year = 12 if self.basis is RateBasis.ANNUAL_NOMINAL else 1
        return Fraction(self.bp, BP_PER_UNIT * per_year)


class InstalmentRules(_Rules):
    """分期: the balance repaid in monthly instalments."""

    min_months: MonthCount
    max_months: MonthCount
    menu_months: Annotated[tuple[MonthCount, ...], Field(min_length=1)]
    min_instalment_fen: PosInt
    rate: PlanRate
    fee: FeeRule
    max_days_past_due: NonNegInt | None = None

    @model_validator(mode="after")
    def _months_consistent(self) -> Self:
        if self.min_months > self.max_months:
            raise ValueError("min_months must not exceed max_months")
        outside = [m for m in self.menu_months if not self.min_months <= m <= self.max_months]
        if outside:
            raise ValueError(f"menu_months {outside} outside min_months..max_months")
        return self


class PartialPaymentRules(_Rules):
    """部分还款: at least a share of the total due by a promise-to-pay date."""

    min_share_bp: ShareBp
    latest_days: PosInt
    max_days_past_due: NonNegInt | None = None


class PenaltyWaiverRules(_Rules):
    """罚息减免: part of the penalty interest waived for a stated hardship."""

    max_share_bp: ShareBp
    accepted_reasons: Annotated[tuple[HardshipReason, ...], Field(min_length=1)]
    pay_within_days: PosInt
    max_days_past_due: NonNegInt | None = None


class Policy(_Rules):
    """One product's forbearance terms. A section left out means the kind is not offered."""

    version: Annotated[str, Field(pattern=rf"^[0-9a-f]{{{VERSION_HEX_CHARS}}}$")]
    product_name: Annotated[str, Field(min_length=1)]
    cost: CostRules
    extension: ExtensionRules | None = None
    instalment: InstalmentRules | None = None
    partial_payment: PartialPaymentRules | None = None
    penalty_waiver: PenaltyWaiverRules | None = None


def policy_version(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:VERSION_HEX_CHARS]


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or '<root>'}: {e['msg']}"
        for e in error.errors()
    )


def parse_policy(content: bytes, *, source: str = "<policy>") -> Policy:
    """Validate policy YAML; any problem becomes a PolicyInvalid naming file and field."""
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise PolicyInvalid(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyInvalid(f"{source}: top level must be a mapping")
    if "version" in data:
        raise PolicyInvalid(f"{source}: version is derived from the file bytes, remove it")
    try:
        return Policy.model_validate({**data, "version": policy_version(content)})
    except ValidationError as exc:
        raise PolicyInvalid(f"{source}: {_describe(exc)}") from exc


def load_policy(path: Path) -> Policy:
    return parse_policy(path.read_bytes(), source=path.name)


def load_policies(directory: Path = POLICY_DIR) -> dict[str, Policy]:
    """Every *.yml policy in `directory`, keyed by product name (names must be unique)."""
    policies: dict[str, Policy] = {}
    for path in sorted(directory.glob("*.yml")):
        policy = load_policy(path)
        if policy.product_name in policies:
            raise PolicyInvalid(f"{path.name}: second policy for {policy.product_name}")
        policies[policy.product_name] = policy
    return policies


def policy_for_product(product_name: str, *, directory: Path = POLICY_DIR) -> Policy:
    """Read from disk on every call: cheap, and an edited file is never served stale."""
    try:
        return load_policies(directory)[product_name]
    except KeyError:
        raise PolicyNotFound() from None
