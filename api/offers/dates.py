"""Calendar helpers for schedules."""

import calendar
from datetime import date


def add_months(anchor: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month end (Jan 31 + 1 → Feb 28/29).

    Always computed from the anchor, never chained, so Jan 31 → Feb 28 → Mar 31.
    """
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor.day, last_day))


def monthly_due_dates(anchor: date, count: int) -> list[date]:
    """The `count` monthly due dates after `anchor` (the first falls one month later)."""
    return [add_months(anchor, k) for k in range(1, count + 1)]
