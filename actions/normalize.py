"""Turn the amounts and dates borrowers type into integer fen and calendar dates.

The NLU marks what the borrower said as `amount` ("两千五", "2.5k", "¥3,250.50") and
`date_phrase` ("月底", "下周五", "15号", "发工资那天") entities; this module reads them.
It is deterministic on purpose, like identity parsing: an offer or a promise-to-pay date
must not depend on a classifier's guess. Anything it cannot read with certainty gives
None (and, for dates, a reason), so the bot asks again instead of guessing.

Money is integer fen and never passes through float: Arabic numbers are read with
Decimal, Chinese numerals with cn2an (integers only; decimals after 点 are read digit by
digit here).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Optional, Union
from zoneinfo import ZoneInfo

import cn2an

# ---------------------------------------------------------------- amounts (金额)

# A reading above this is a misread or a joke ("一百万亿"), not an amount to negotiate.
# It bounds parsing only; what a borrower may pay or be offered is policy, elsewhere.
MAX_AMOUNT_FEN = 1_000_000_000  # ¥10,000,000.00

_UNIT_VALUES = {"百": 100, "千": 1000, "k": 1000, "万": 10000, "w": 10000}
_CN_DIGIT_VALUES = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}

_ARABIC = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_ARABIC_WITH_UNIT = re.compile(r"(\d+(?:\.\d+)?)([百千k万w])")
_MIXED = re.compile(r"[\d零〇一二两三四五六七八九十百千万亿kw]+(?:点[\d零〇一二两三四五六七八九]+)?")
# "2500块钱", "两块五", "3块5毛", "10元5角3分": the main number, then optional 角/分.
_YUAN = re.compile(
    r"(?P<main>.+?)(?:块|元|圆)(?:(?P<jiao>[\d零一二两三四五六七八九])[毛角]?)?"
    r"(?:(?P<fen>[\d零一二两三四五六七八九])分)?钱?"
)
_PREFIXES = ("人民币", "rmb", "¥", "大概", "大约", "差不多", "约")
_SUFFIXES = ("左右", "上下", "人民币", "rmb")


def amount_to_fen(text: str, *, max_fen: int = MAX_AMOUNT_FEN) -> Optional[int]:
    """The amount in fen, or None when it is not one positive, plausible amount.

    >>> amount_to_fen("两千五"), amount_to_fen("2.5k"), amount_to_fen("¥3,250.50")
    (250000, 250000, 325050)
    """
    if not isinstance(text, str):
        return None
    cleaned = _clean_amount_text(text)
    if not cleaned or cleaned[0] in "-−负":
        return None
    yuan = _read_yuan(cleaned)
    if yuan is None:
        return None
    fen = yuan * 100
    if fen != fen.to_integral_value() or fen <= 0 or fen > max_fen:
        return None
    return int(fen)


def _clean_amount_text(text: str) -> str:
    cleaned = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if cleaned.startswith(prefix):
                cleaned, changed = cleaned[len(prefix):], True
        for suffix in _SUFFIXES:
            if cleaned.endswith(suffix):
                cleaned, changed = cleaned[: -len(suffix)], True
    return cleaned


def _read_yuan(cleaned: str) -> Optional[Decimal]:
    match = _YUAN.fullmatch(cleaned)
    if match is None:
        return _read_number(cleaned)
    main = _read_number(match.group("main"))
    if main is None:
        return None
    for group, scale in (("jiao", Decimal("0.1")), ("fen", Decimal("0.01"))):
        digit = match.group(group)
        if digit is not None:
            main += _digit_value(digit) * scale
    return main


def _read_number(token: str) -> Optional[Decimal]:
    """A non-negative number written in Arabic digits, Chinese numerals or a mix."""
    if _ARABIC.fullmatch(token):
        return Decimal(token.replace(",", ""))
    with_unit = _ARABIC_WITH_UNIT.fullmatch(token)
    if with_unit:
        return Decimal(with_unit.group(1)) * _UNIT_VALUES[with_unit.group(2)]
    if not _MIXED.fullmatch(token):
        return None
    chinese = re.sub(r"\d+", lambda m: cn2an.an2cn(m.group(0)), token)
    chinese = chinese.replace("k", "千").replace("w", "万")
    whole, _, decimals = chinese.partition("点")
    value = _cn2an_int(whole)
    if value is None:
        return None
    digits = "".join(str(_digit_value(c)) for c in decimals)
    return Decimal(f"{value}.{digits}") if digits else Decimal(value)


def _cn2an_int(token: str) -> Optional[int]:
    """A Chinese integer numeral ("两千五", "一千二", "三千零五十") via cn2an, or None."""
    if not token:
        return None
    try:
        value = cn2an.cn2an(token, "normal")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, int) else None


def _digit_value(char: str) -> int:
    return int(char) if char.isdigit() else _CN_DIGIT_VALUES[char]


# ---------------------------------------------------------------- dates (日期)

# Why a phrase gave no date. Codes, not wording: the bot's templates say it to people.
NEEDS_SPECIFIC_DAY = "needs_specific_day"  # 发工资那天, 下个月, 月初: ask which day
NO_SUCH_DAY = "no_such_day"  # 31号 in a 30-day month, 2月30日
IN_THE_PAST = "in_the_past"  # 这周五 said on a Saturday, a date already gone
UNRECOGNISED = "unrecognised"


@dataclass(frozen=True)
class DateReading:
    """A phrase read as a date in the borrower's time zone, or the reason it was not."""

    value: Optional[date]
    reason: Optional[str] = None

    @property
    def iso(self) -> Optional[str]:
        return self.value.isoformat() if self.value else None


_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS.update({str(i): i - 1 for i in range(1, 8)})
_CN_SMALL = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"

_VAGUE = re.compile(
    r".*(?:发工资|发薪|工资到|出粮|结工钱|有钱).*"
    r"|(?:这|本|下下|下)?个?(?:月|周|星期|礼拜)(?:初|中|末|内)?"
    r"|(?:这|本|下下|下)?个?周末|月初|月中|年底|年末|年前|年后|过年|过几天|过两天|改天|最近|以后"
)
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "今晚": 0, "今儿": 0, "明天": 1, "明日": 1, "明晚": 1,
                  "明儿": 1, "后天": 2, "大后天": 3}
_MONTH_END = re.compile(r"(这|本|下下|下)?个?月(?:底|末)")
_IN_N = re.compile(rf"({_CN_SMALL})(天|周|个星期|个礼拜)(?:后|以后|之后)")
_WEEKDAY = re.compile(r"(这|本|下下|下)?个?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_DAY_OF_MONTH = re.compile(rf"(?:(这|本|下下|下)个?月)?({_CN_SMALL})[号日]")
_MONTH_DAY = re.compile(rf"(?:(\d{{4}})年)?({_CN_SMALL})月({_CN_SMALL})[号日]?")
_NUMERIC_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
# Words around the phrase. Jieba sometimes glues a pronoun to it ("我下|周五"), and the
# entity then spans the whole token, so a leading 我 is dropped too.
_LEADING = ("我们", "我", "就", "等到", "最晚", "最迟", "大概", "大约", "到", "在", "等")
_TRAILING = ("之前", "以前", "前", "左右", "那天", "当天", "的时候", "时候")
_MONTH_OFFSETS = {None: 0, "这": 0, "本": 0, "下": 1, "下下": 2}


def date_phrase_to_date(
    text: str, *, today: Union[date, datetime], tz: Union[tzinfo, str]
) -> Optional[date]:
    """The date a borrower means by `text`, or None (see read_date_phrase for why)."""
    return read_date_phrase(text, today=today, tz=tz).value


def read_date_phrase(
    text: str, *, today: Union[date, datetime], tz: Union[tzinfo, str]
) -> DateReading:
    """Read a payment-date phrase relative to the borrower's local today.

    `today` is the borrower's local date, or an aware datetime that is converted into
    `tz` (an IANA name such as "Asia/Shanghai", or a tzinfo) first. Dates are for
    promises to pay, so a date before today is refused (IN_THE_PAST).
    """
    local_today = _local_date(today, tz)
    phrase = _clean_date_text(text) if isinstance(text, str) else ""
    if not phrase:
        return DateReading(None, UNRECOGNISED)
    for reader in (_read_relative, _read_month_end, _read_weekday, _read_day_of_month,
                   _read_month_day, _read_numeric):
        reading = reader(phrase, local_today)
        if reading is not None:
            return reading
    if _VAGUE.fullmatch(phrase):
        return DateReading(None, NEEDS_SPECIFIC_DAY)
    return DateReading(None, UNRECOGNISED)


def _local_date(today: Union[date, datetime], tz: Union[tzinfo, str]) -> date:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if isinstance(today, datetime):
        if today.tzinfo is None:
            raise ValueError("today must be timezone-aware when it is a datetime")
        return today.astimezone(zone).date()
    return today


def _clean_date_text(text: str) -> str:
    phrase = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    phrase = phrase.rstrip("。，,.!！?？~")
    stripped = True
    while stripped:
        stripped = False
        for prefix in _LEADING:
            if phrase.startswith(prefix) and len(phrase) > len(prefix):
                phrase, stripped = phrase[len(prefix):], True
                break
    for suffix in _TRAILING:
        if phrase.endswith(suffix) and len(phrase) > len(suffix):
            phrase = phrase[: -len(suffix)]
            break
    return phrase


def _small_number(token: str) -> int:
    """A day, month or count: "15" or "十五"; 0 (never valid here) when unreadable."""
    if token.isdigit():
        return int(token)
    return _cn2an_int(token) or 0


def _checked(candidate: Optional[date], today: date) -> DateReading:
    if candidate is None:
        return DateReading(None, NO_SUCH_DAY)
    if candidate < today:
        return DateReading(None, IN_THE_PAST)
    return DateReading(candidate)


def _make_date(year: int, month: int, day: int) -> Optional[date]:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _add_months(year: int, month: int, offset: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + offset
    return index // 12, index % 12 + 1


def _read_relative(phrase: str, today: date) -> Optional[DateReading]:
    if phrase in _RELATIVE_DAYS:
        return DateReading(today + timedelta(days=_RELATIVE_DAYS[phrase]))
    match = _IN_N.fullmatch(phrase)
    if match is None:
        return None
    count = _small_number(match.group(1))
    if count == 0:
        return DateReading(None, UNRECOGNISED)
    return DateReading(today + timedelta(days=count * (1 if match.group(2) == "天" else 7)))


def _read_month_end(phrase: str, today: date) -> Optional[DateReading]:
    match = _MONTH_END.fullmatch(phrase)
    if match is None:
        return None
    year, month = _add_months(today.year, today.month, _MONTH_OFFSETS[match.group(1)])
    return DateReading(date(year, month, calendar.monthrange(year, month)[1]))


def _read_weekday(phrase: str, today: date) -> Optional[DateReading]:
    """周五 = the next Friday on or after today; 这周五 = this Monday-to-Sunday week's;
    下周五 = next week's (so said on a Friday it is 7 days away)."""
    match = _WEEKDAY.fullmatch(phrase)
    if match is None:
        return None
    prefix, weekday = match.group(1), _WEEKDAYS[match.group(2)]
    if prefix is None:
        return DateReading(today + timedelta(days=(weekday - today.weekday()) % 7))
    monday = today - timedelta(days=today.weekday())
    weeks = {"这": 0, "本": 0, "下": 1, "下下": 2}[prefix]
    return _checked(monday + timedelta(days=7 * weeks + weekday), today)


def _read_day_of_month(phrase: str, today: date) -> Optional[DateReading]:
    """15号 = the next 15th (this month if not yet past); 下个月15号 = next month's.
    A day the month does not have (31号 in April) is refused, not moved."""
    match = _DAY_OF_MONTH.fullmatch(phrase)
    if match is None:
        return None
    day = _small_number(match.group(2))
    if not 1 <= day <= 31:
        return DateReading(None, UNRECOGNISED)
    prefix = match.group(1)
    offset = _MONTH_OFFSETS[prefix]
    if prefix is None and day < today.day:
        offset = 1
    year, month = _add_months(today.year, today.month, offset)
    return _checked(_make_date(year, month, day), today)


def _read_month_day(phrase: str, today: date) -> Optional[DateReading]:
    """12月3日 = the next 3 December (this year if not yet past); 2026年12月3日 as said."""
    match = _MONTH_DAY.fullmatch(phrase)
    if match is None:
        return None
    month, day = _small_number(match.group(2)), _small_number(match.group(3))
    if match.group(1):
        return _checked(_make_date(int(match.group(1)), month, day), today)
    candidate = _make_date(today.year, month, day)
    if candidate is not None and candidate < today:
        candidate = _make_date(today.year + 1, month, day)
    return _checked(candidate, today)


def _read_numeric(phrase: str, today: date) -> Optional[DateReading]:
    match = _NUMERIC_DATE.fullmatch(phrase)
    if match is None:
        return None
    year, month, day = (int(g) for g in match.groups())
    return _checked(_make_date(year, month, day), today)
