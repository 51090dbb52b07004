"""Payment contract (staff, admin role)."""

from datetime import datetime, timedelta, timezone

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from api.core.db import utcnow
from api.loans.models import LoanStatus, ScheduleItemStatus

# The largest amount an INTEGER column holds on every backend (PostgreSQL int4).
MAX_FEN = 2_147_483_647
EARLIEST_PAYMENT = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Clock difference tolerated between the payment processor and this server.
CLOCK_SKEW = timedelta(minutes=5)


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The processor's unique reference (流水号): the idempotency key of the payment.
    external_ref: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    paid_at: AwareDatetime
    # e.g. "bank_transfer", "wechat_pay", "alipay", "counter"
    channel: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")

    @field_validator("paid_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        if value < EARLIEST_PAYMENT:
            raise ValueError("还款时间早于 2000-01-01，请核对")
        if value > utcnow() + CLOCK_SKEW:
            raise ValueError("还款时间不能晚于当前时间")
        return value


class AllocationOut(BaseModel):
    """How the payment reduced the loan: fees, then penalty interest, then interest, then
    principal (api/payments/allocation.py)."""

    fees_fen: int
    penalty_interest_fen: int
    interest_fen: int
    principal_fen: int


class ScheduleItemPaidOut(BaseModel):
    id: int
    applied_fen: int
    status: ScheduleItemStatus


class PaymentOut(BaseModel):
    id: int
    loan_id: int
    external_ref: str
    amount_fen: int
    paid_at: datetime
    channel: str
    created_at: datetime
    # What the payment did when it was recorded (also returned on an idempotent replay).
    allocation: AllocationOut | None
    schedule_items: list[ScheduleItemPaidOut]
    loan_status: LoanStatus | None

    @classmethod
    def from_recorded(cls, recorded) -> "PaymentOut":
        """From api.payments.service.RecordedPayment."""
        payment = recorded.payment
        return cls(
            id=payment.id,
            loan_id=payment.loan_id,
            external_ref=payment.external_ref,
            amount_fen=payment.amount_fen,
            paid_at=payment.paid_at,
            channel=payment.channel,
            created_at=payment.created_at,
            allocation=AllocationOut(**vars(recorded.allocation)) if recorded.allocation else None,
            schedule_items=[
                ScheduleItemPaidOut(id=i.item_id, applied_fen=i.applied_fen, status=i.status)
                for i in recorded.items
            ],
            loan_status=recorded.loan_status,
        )
