"""Contract between the action server and the api (internal, service-token only)."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.compliance.models import DataRequestKind, DataRequestStatus


class IdentityClaim(BaseModel):
    full_name: str = Field(min_length=1, max_length=64)
    id_last4: str = Field(pattern=r"^\d{3}[\dXx]$")
    birth_date: date


class IdentityVerificationOut(BaseModel):
    verified: bool
    attempts_left: int
    locked_until: datetime | None = None


class MoneyOut(BaseModel):
    """An amount in fen with its one rendering for people."""

    fen: int
    display: str


class LoanDueOut(BaseModel):
    contract_no: str
    product_name: str
    due_date: date
    days_past_due: int
    principal: MoneyOut
    interest: MoneyOut
    penalty_interest: MoneyOut
    fees: MoneyOut
    total_due: MoneyOut


class AmountDueOut(BaseModel):
    loans: list[LoanDueOut]
    total_due: MoneyOut
    # IANA zone the borrower lives in: dates they say ("月底", "15号") are read in it.
    borrower_timezone: str


class DataRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DataRequestKind
    note: str = Field(default="", max_length=200)  # the borrower's own words, shortened


class DataRequestOut(BaseModel):
    request_id: int
    kind: DataRequestKind
    status: DataRequestStatus


class ThirdPartyOut(BaseModel):
    verified: bool  # always false afterwards: nothing more is disclosed until re-verified
