"""Mainland resident ID numbers (GB 11643-1999) and mobile numbers: validated, reduced to
what may be stored (an HMAC and the last four; a masked phone), never kept in full."""

import re
from dataclasses import dataclass
from datetime import date

# Province-level codes that open a resident ID number (GB/T 2260), plus 71 (Taiwan),
# 81/82 (Hong Kong/Macao) and 83 (Taiwan residents' residence permits).
PROVINCE_CODES = frozenset(
    {
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
        50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
    }
)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class IdNumber:
    normalised: str  # upper-case X; only ever passed to the HMAC, never stored
    birth_date: date
    last4: str


def check_digit(first17: str) -> str:
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def parse_id_number(value: str, *, today: date) -> IdNumber | None:
    """The parsed number, or None if it is not a well-formed 18-character resident ID
    (shape, province code, a real birth date not in the future, check digit)."""
    normalised = value.strip().upper()
    if not _ID_SHAPE.match(normalised) or int(normalised[:2]) not in PROVINCE_CODES:
        return None
    try:
        birth = date(int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14]))
    except ValueError:
        return None
    if birth.year < 1900 or birth > today:
        return None
    if check_digit(normalised[:17]) != normalised[17]:
        return None
    return IdNumber(normalised=normalised, birth_date=birth, last4=normalised[-4:])


def normalise_mobile(value: str) -> str | None:
    """11-digit mainland mobile number from common spellings ("+86 138-1234-5678")."""
    digits = re.sub(r"[\s\-()]", "", value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.match(digits) else None


def mask_mobile(mobile: str) -> str:
    """138****5678: enough for a borrower to recognise, useless to anyone else (PD2)."""
    return f"{mobile[:3]}****{mobile[-4:]}"
