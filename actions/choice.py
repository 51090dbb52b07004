"""Which of the plans just shown the borrower picked ("第二个", "选2", "就分6期那个").

Deterministic like amounts and dates: a binding choice must not rest on a guess. A term
the borrower names ("6期", "30天") wins over an ordinal, because "12期" is not option 12.
"""

import re
import unicodedata
from typing import Any

import cn2an

_CN_NUMBER = "零〇一二两三四五六七八九十"
_NUM = rf"(\d{{1,2}}|[{_CN_NUMBER}]{{1,3}})"
_MONTHS = re.compile(_NUM + r"(?:期|个月)")
_DAYS = re.compile(_NUM + r"天")
_ORDINAL = re.compile(rf"(?:第|方案|选项?|option|no\.?|#){_NUM}|{_NUM}(?:号方案|个方案)")
_BARE = re.compile(rf"^(?:选|要|就|那就)?{_NUM}(?:个|号)?(?:吧|吗|呢|啊|哈|好了|就行)?$")
# "选A", "plan b", "B方案": lettered the way some borrowers number a list.
_LETTER = re.compile(r"^(?:选|要|就|方案|plan|option)?([a-h])(?:方案|那个|这个|个)?(?:吧|呢|啊|好了|就行)?$")
_KIND_WORDS = {
    "extension": ("展期", "延期", "延后", "推迟"),
    "penalty_waiver": ("减免", "免罚息", "免掉"),
    "partial_payment": ("部分", "先还", "承诺"),
    "instalment": ("分期",),
}


def _number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    try:
        return int(cn2an.cn2an(token, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s,.!?;:，。！？；：~～、\"'“”‘’]+", "", text)


def pick_option(text: str, offered: list[dict[str, Any]]) -> int | None:
    """The index into `offered` the borrower chose, or None when it is not certain."""
    if not offered:
        return None
    cleaned = _clean(text)
    for pattern, field in ((_MONTHS, "term_months"), (_DAYS, "term_days")):
        match = pattern.search(cleaned)
        if match:
            wanted = _number(match.group(1))
            hits = [i for i, o in enumerate(offered) if o.get(field) == wanted]
            return hits[0] if len(hits) == 1 else None
    match = _ORDINAL.search(cleaned) or _BARE.match(cleaned)
    if match:
        number = _number(next(g for g in match.groups() if g))
        return number - 1 if number is not None and 1 <= number <= len(offered) else None
    letter = _LETTER.match(cleaned)
    if letter:
        number = ord(letter.group(1)) - ord("a") + 1
        return number - 1 if number <= len(offered) else None
    for kind, words in _KIND_WORDS.items():
        if any(word in cleaned for word in words):
            hits = [i for i, o in enumerate(offered) if o.get("kind") == kind]
            return hits[0] if len(hits) == 1 else None
    if len(offered) == 1 and re.search(r"这个|就它|那个|行|可以|好", cleaned):
        return 0
    return None
