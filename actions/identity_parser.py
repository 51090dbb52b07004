"""Read name, last four ID characters and birth date out of one free-text message.

Borrowers type these in every order and format ("张伟 1234 1990-03-07",
"我叫张伟，身份证后四位1234，生日1990年3月7日"). Parsing is deterministic on purpose:
an identity check must not depend on a classifier's guess.
"""

import re
from dataclasses import dataclass
from datetime import date

_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*(?:[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?|(\d{2})(\d{2}))(?!\d)"
)
_LAST4 = re.compile(r"(?<![0-9A-Za-z])(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_NAME = re.compile(r"[\u4e00-\u9fff·]{2,8}")
# Words people put around the values; removed before the name is read.
_FILLERS = sorted(
    [
        "身份证号码后四位", "身份证号后四位", "身份证后四位", "身份证后4位", "身份证尾号",
        "身份证号", "身份证", "后四位", "后4位", "尾号", "出生日期", "出生年月日", "出生",
        "生日", "姓名", "名字", "我叫", "我是", "本人", "日期", "号码", "是",
    ],
    key=len,
    reverse=True,
)


@dataclass(frozen=True)
class IdentityClaim:
    full_name: str
    id_last4: str
    birth_date: date


def _birth_date(match: re.Match) -> date | None:
    year = int(match.group(1))
    month = int(match.group(2) or match.group(4))
    day = int(match.group(3) or match.group(5))
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_identity(text: str) -> IdentityClaim | None:
    """The claim, or None when any of the three parts is missing or malformed."""
    date_match = _DATE.search(text)
    if date_match is None:
        return None
    birth = _birth_date(date_match)
    rest = text[: date_match.start()] + " " + text[date_match.end():]

    last4_match = _LAST4.search(rest)
    if birth is None or last4_match is None:
        return None
    rest = rest[: last4_match.start()] + " " + rest[last4_match.end():]

    for filler in _FILLERS:
        rest = rest.replace(filler, " ")
    name_match = _NAME.search(rest)
    if name_match is None:
        return None
    return IdentityClaim(
        full_name=name_match.group(0),
        id_last4=last4_match.group(1).upper(),
        birth_date=birth,
    )
