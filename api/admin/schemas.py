"""Admin import contract: a borrower and their loans, as the lender's systems hold them.

The response never contains the ID number or the full phone number.
"""

import unicodedata
from datetime import date, datetime
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from api.admin.service import NewLoan, NewScheduleItem
from api.loans.models import LoanStatus, ScheduleItemStatus

MAX_FEN = 2_147_483_647  # INTEGER on every backend (PostgreSQL int4)
MAX_RATE_BP = 10_000  # 100 % p.a.: far above any lawful rate, only catches unit mistakes


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _no_control_characters(value: str) -> str:
    value = value.strip()
    if not value or any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("不能为空，且不能包含控制字符")
    return value


Text64 = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_control_characters)]


class ScheduleItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_date: date
    amount_fen: int = Field(gt=0, le=MAX_FEN)


class LoanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contract_no: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")
    product_name: Text64
    principal_fen: int = Field(gt=0, le=MAX_FEN)
    contract_rate_bp: int = Field(ge=0, le=MAX_RATE_BP)
    contract_date: date
    due_date: date
    outstanding_principal_fen: int = Field(ge=0, le=MAX_FEN)
    outstanding_interest_fen: int = Field(ge=0, le=MAX_FEN)
    penalty_interest_fen: int = Field(ge=0, le=MAX_FEN)
    fees_fen: int = Field(ge=0, le=MAX_FEN)
    status: LoanStatus
    # Optional: the amounts still due and when. Without it the loan gets one item, the
    # whole amount due on due_date. Items start pending (reconciliation marks missed).
    schedule: list[ScheduleItemIn] | None = Field(default=None, max_length=360)

    @model_validator(mode="after")
    def _consistent(self) -> "LoanIn":
        total = (
            self.outstanding_principal_fen
            + self.outstanding_interest_fen
            + self.penalty_interest_fen
            + self.fees_fen
        )
        if self.contract_date > self.due_date:
            raise ValueError("合同日期不能晚于到期日")
        if self.outstanding_principal_fen > self.principal_fen:
            raise ValueError("剩余本金不能超过合同本金")
        if total > MAX_FEN:
            raise ValueError("应还总额超出上限")
        if (self.status == LoanStatus.SETTLED) != (total == 0):
            raise ValueError("已结清的贷款应还总额须为 0，未结清的贷款应还总额须大于 0")
        if self.schedule is not None:
            if sum(item.amount_fen for item in self.schedule) != total:
                raise ValueError("还款计划金额合计须等于应还总额")
            if any(item.due_date < self.contract_date for item in self.schedule):
                raise ValueError("还款计划日期不能早于合同日期")
        return self

    def to_new_loan(self) -> NewLoan:
        values = self.model_dump(exclude={"schedule"})
        schedule = None
        if self.schedule is not None:
            schedule = [NewScheduleItem(i.due_date, i.amount_fen) for i in self.schedule]
        return NewLoan(**values, schedule=schedule)


class BorrowerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Text64
    # 18-character resident ID number; validated (check digit, birth date) by the
    # service, stored only as an HMAC and its last four characters.
    id_number: str = Field(min_length=1, max_length=32)
    birth_date: date
    # Mainland mobile number; stored masked (138****5678) only.
    phone: str = Field(min_length=1, max_length=32)
    timezone: str = Field(default="Asia/Shanghai", min_length=1, max_length=64)
    loans: list[LoanIn] = Field(min_length=1, max_length=50)

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        if value not in _time_zones():
            raise ValueError("时区须为 IANA 时区名，例如 Asia/Shanghai")
        return value

    @field_validator("loans")
    @classmethod
    def _distinct_contracts(cls, loans: list[LoanIn]) -> list[LoanIn]:
        if len({loan.contract_no for loan in loans}) != len(loans):
            raise ValueError("合同编号重复")
        return loans


class ScheduleItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    due_date: date
    amount_fen: int
    paid_fen: int
    status: ScheduleItemStatus


class LoanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contract_no: str
    product_name: str
    principal_fen: int
    contract_rate_bp: int
    contract_date: date
    due_date: date
    outstanding_principal_fen: int
    outstanding_interest_fen: int
    penalty_interest_fen: int
    fees_fen: int
    total_due_fen: int
    status: LoanStatus
    collection_paused: bool
    schedule: list[ScheduleItemOut]


class BorrowerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str
    id_last4: str
    phone_masked: str
    timezone: str
    created_at: datetime
    loans: list[LoanOut]
