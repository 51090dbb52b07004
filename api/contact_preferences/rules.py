"""Whether a borrower's stored contact preferences allow one contact (P3, T2, T4).

Pure: no database, no clock. Outreach (reminders, nudges, collector messages) asks this
before every proactive contact. It judges the *stored preferences* only; the general
08:00-21:00 window (T1), frequency caps (T3), the lender's pause flag (O5) and the
absolute bans of P1/P3 (never debt content to employers or family) are separate checks.
"""

from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from typing import Protocol


class ContactChannel(StrEnum):
    WEB = "web"
    WECHAT = "wechat"
    SMS = "sms"


class ContactPurpose(StrEnum):
    COLLECTION = "collection"  # a proactive collection message to the borrower (T1/T2/T4)
    LEGAL_NOTICE = "legal_notice"  # legally required notice: the one thing stop_all lets through
    # P2: a third party may only be asked to pass on a callback request, and only where
    # the borrower has not asked us to leave their workplace / family alone (P3).
    WORKPLACE_CALLBACK = "workplace_callback"
    FAMILY_CALLBACK = "family_callback"


class RuleId(StrEnum):
    P3 = "P3"
    T2 = "T2"
    T4 = "T4"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule_id: RuleId | None = None  # the rule that refused; None when allowed


ALLOWED = Decision(allowed=True)


class Preferences(Protocol):
    """The ContactPreference row, or any object with the same attributes."""

    no_workplace_contact: bool
    no_family_contact: bool
    quiet_start: time | None
    quiet_end: time | None
    opted_out_channels: list[str]
    stop_all: bool


def in_quiet_hours(local_time: time, *, start: time | None, end: time | None) -> bool:
    """Quiet hours run from `start` (inclusive) to `end` (exclusive), borrower-local.

    start < end is a window within one day (12:00-14:00); start > end wraps midnight
    (22:00-08:00 covers 23:30 and 07:59, not 08:00). start == end is an empty window:
    the api refuses to store one, because "all day" and "never" would both be guesses.
    """
    if start is None or end is None or start == end:
        return False
    moment = local_time.replace(tzinfo=None)
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def contact_allowed(
    preference: Preferences | None,
    *,
    channel: ContactChannel,
    purpose: ContactPurpose,
    local_time: time,
) -> Decision:
    """The first refusing rule, from the most lasting to the most passing:

    T4 stop_all (everything but a legal notice) -> T4 channel opt-out -> P3 workplace /
    family -> T2 quiet hours. A T2 refusal means "hold and retry after the quiet hours";
    the others mean "do not send". No stored preference (None) allows everything here.
    """
    if preference is None:
        return ALLOWED
    channel, purpose = ContactChannel(channel), ContactPurpose(purpose)
    if preference.stop_all and purpose != ContactPurpose.LEGAL_NOTICE:
        return Decision(False, RuleId.T4)
    if channel in (preference.opted_out_channels or ()):
        return Decision(False, RuleId.T4)
    if purpose == ContactPurpose.WORKPLACE_CALLBACK and preference.no_workplace_contact:
        return Decision(False, RuleId.P3)
    if purpose == ContactPurpose.FAMILY_CALLBACK and preference.no_family_contact:
        return Decision(False, RuleId.P3)
    if in_quiet_hours(local_time, start=preference.quiet_start, end=preference.quiet_end):
        return Decision(False, RuleId.T2)
    return ALLOWED
