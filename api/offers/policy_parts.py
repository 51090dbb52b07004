"""Policy building blocks shared by several option kinds: fees and plan rates."""

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from api.offers.fen import share_floor


class FeeBasis(StrEnum):
    BP_OF_PRINCIPAL = "bp_of_principal"  # value is bp of the outstanding principal
    BP_OF_RESCHEDULED = "bp_of_rescheduled"  # value is bp of the amount rescheduled
    FIXED_FEN = "fixed_fen"  # value is an amount in fen


class RateBasis(StrEnum):
    ANNUAL_NOMINAL = "annual_nominal"  # monthly rate = bp / 12
    MONTHLY = "monthly"


class FeeRule(BaseModel):
    """A fee an arrangement may charge. O2: only fees the contract discloses, so a
    non-zero fee must name the contract clause that discloses it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    basis: FeeBasis
    value: Annotated[StrictInt, Field(ge=0)]
    disclosed_clause: str | None = None

    @model_validator(mode="after")
    def _disclosed(self) -> Self:
        if self.value > 0 and not (self.disclosed_clause or "").strip():
            raise ValueError("a non-zero fee needs disclosed_clause (O2: disclosed fees only)")
        return self

    def amount_fen(self, *, principal_fen: int, rescheduled_fen: int) -> int:
        """bp-based fees round DOWN so the charge never exceeds the disclosed rate."""
        if self.basis is FeeBasis.FIXED_FEN:
            return self.value
        base = principal_fen if self.basis is FeeBasis.BP_OF_PRINCIPAL else rescheduled_fen
        return share_floor(base, self.value)
