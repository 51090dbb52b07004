"""Masking of ID, phone and bank-card numbers in text shown to staff (PD2).

Masked by default for every staff view; revealing the original is a separate, audited
act. Patterns are anchored on digit boundaries so amounts (¥3,250.00) and dates are left
alone.
"""

import re

# 18-character mainland resident ID: 6-digit region, 8-digit birth date, 3 digits, check.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally written with +86 / spaces / dashes.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?\d{4}[-\s]?(\d{4})(?!\d)")
# Bank cards: 16–19 digits, possibly grouped by spaces or dashes in fours.
_BANK_CARD = re.compile(r"(?<!\d)(\d{4}(?:[-\s]?\d{4}){2,3}(?:[-\s]?\d{1,3})?)(?!\d)")


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    if not 16 <= len(digits) <= 19:
        return match.group(0)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_pii(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _BANK_CARD.sub(_mask_card, text)
