"""The closed vocabularies of the offers domain. Their Chinese texts live in texts.zh.yml."""

from dataclasses import dataclass, field
from enum import StrEnum


class OptionKind(StrEnum):
    EXTENSION = "extension"  # 展期
    INSTALMENT = "instalment"  # 分期
    PARTIAL_PAYMENT = "partial_payment"  # 部分还款 + promise-to-pay date
    PENALTY_WAIVER = "penalty_waiver"  # 罚息减免


class HardshipReason(StrEnum):
    """Hardship reasons a 罚息减免 may rest on; a product accepts a subset."""

    JOB_LOSS = "job_loss"
    ILLNESS = "illness"
    BUSINESS_FAILURE = "business_failure"
    BEREAVEMENT = "bereavement"
    DISASTER = "disaster"
    OTHER_VERIFIED = "other_verified"


class ReasonCode(StrEnum):
    """Why an option or a counter-offer was refused or adjusted (D2: reason + human path)."""

    NOT_OFFERED_FOR_PRODUCT = "not_offered_for_product"
    NOTHING_DUE = "nothing_due"
    DAYS_PAST_DUE_EXCEEDED = "days_past_due_exceeded"
    COST_ABOVE_CAP = "cost_above_cap"
    BALANCE_TOO_SMALL_FOR_TERM = "balance_too_small_for_term"
    BELOW_MINIMUM_INSTALMENT = "below_minimum_instalment"
    EXCEEDS_MAX_MONTHS = "exceeds_max_months"
    NO_PENALTY_INTEREST = "no_penalty_interest"
    HARDSHIP_REASON_REQUIRED = "hardship_reason_required"
    HARDSHIP_REASON_NOT_ACCEPTED = "hardship_reason_not_accepted"
    BELOW_MINIMUM_SHARE = "below_minimum_share"
    PROMISE_DATE_TOO_LATE = "promise_date_too_late"
    PROMISE_DATE_IN_PAST = "promise_date_in_past"


class CounterOutcome(StrEnum):
    FITS = "fits"  # a compliant plan within what the borrower stated
    ALTERNATIVE = "alternative"  # the nearest compliant plan, still within the stated amount
    NONE = "none"  # nothing compliant fits: reason + human path


@dataclass(frozen=True)
class Refusal:
    """A reason code plus the values its Chinese text needs (already formatted for people)."""

    code: ReasonCode
    values: dict[str, str] = field(default_factory=dict)
