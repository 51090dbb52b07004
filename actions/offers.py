"""Turning the api's quotes into chat lines, and reading the amounts and dates borrowers
type. Every figure in a line is the api's own rendering (MoneyOut.display, dates)."""

import re
from datetime import date, datetime, timezone
from typing import Any

from actions.base import Request
from actions.normalize import IN_THE_PAST, NEEDS_SPECIFIC_DAY, amount_to_fen, read_date_phrase
from actions.templates import render

# Candidate amounts inside a free sentence ("每月只能还800", "两千五左右"), tried in order
# when the NLU marked no amount entity.
_AMOUNT_CANDIDATE = re.compile(
    r"(?<![第周星礼拜\d])"
    r"(?:¥|人民币)?(?:\d[\d,]*(?:\.\d+)?\s*[kKwW千万]?|[零一二两三四五六七八九十百千万]{2,}"
    r"|[一二两三四五六七八九]十?[百千万])"
    r"(?:块钱?|元|圆)?"
    # not a date, a time, a count or an ordinal: 15号, 3月, 6期, 30天, 2个月, 8点
    r"(?![\d号日月期天周点年岁个号])"
)


def cn_date(value: str | date) -> str:
    """2026-12-30 -> 2026年12月30日, as the api's summary writes dates."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.year}年{day.month}月{day.day}日"


def offered_entry(quote: dict[str, Any]) -> dict[str, Any]:
    """What the conversation remembers of a quote it showed (for "第二个", "6期那个")."""
    terms = quote["terms"]
    return {
        "quote_id": quote["quote_id"],
        "kind": quote["kind"],
        "term_months": terms.get("term_months"),
        "term_days": terms.get("term_days"),
    }


def option_line(index: int, quote: dict[str, Any]) -> str:
    terms = quote["terms"]
    schedule = terms["schedule"]
    first, last = schedule[0], schedule[-1]
    values = {
        "index": index,
        "name": quote["name"],
        "count": len(schedule),
        "term_days": terms.get("term_days"),
        "instalment": first["amount"]["display"],
        "last_instalment": last["amount"]["display"],
        "first_due_date": cn_date(first["due_date"]),
        "total_repayable": terms["total_repayable"]["display"],
        "annual_cost": terms["annual_cost_display"],
        "remaining_balance": terms["remaining_balance"]["display"],
        "waived": terms["waived"]["display"],
    }
    kind = quote["kind"]
    if kind == "partial_payment" and terms["remaining_balance"]["fen"] == 0:
        return render("option_full_payment", **values)
    if kind == "instalment" and first["amount"]["fen"] != last["amount"]["fen"]:
        return render("option_instalment_uneven", **values)
    return render(f"option_{kind}", **values)


def amount_in(request: Request) -> int | None:
    """The amount the borrower stated, in fen, or None when it cannot be read for sure."""
    entity = request.entity("amount")
    if entity is not None:
        fen = amount_to_fen(entity)
        if fen is not None:
            return fen
    for match in _AMOUNT_CANDIDATE.finditer(request.text):
        fen = amount_to_fen(match.group(0))
        if fen is not None:
            return fen
    return None


def date_in(request: Request, *, tz: str, now: datetime | None = None) -> tuple[date | None, str | None]:
    """(date, None) or (None, the template that asks again)."""
    now = now or datetime.now(timezone.utc)
    readings = [
        read_date_phrase(phrase, today=now, tz=tz)
        for phrase in (request.entity("date_phrase"), request.text)
        if phrase
    ]
    for reading in readings:
        if reading.value is not None:
            return reading.value, None
    # The NLU's date phrase explains best why it is not a date; else the whole text.
    reason = readings[0].reason if readings else None
    if reason == IN_THE_PAST:
        return None, "date_in_past"
    if reason == NEEDS_SPECIFIC_DAY:
        return None, "ask_specific_date"
    return None, "date_unrecognised"
