"""Calendar rules of billing periods: intervals from an anchor day, month ends, the time zone.

A monthly plan anchored on the 31st bills on 31 Jan, 28 Feb (29 in a leap year), 31 Mar ...:
each period starts on the anchor day of its month, or on the month's last day when the month is
shorter (the shift is kept on the period and in the audit). ``end`` is inclusive: the day before
the next period starts. A period is due at the start of its first day in the organisation's time
zone.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from billing.models import Plan


@dataclass(frozen=True)
class Span:
    start: dt.date
    end: dt.date  # inclusive
    shifted_from_day: int | None  # the anchor day, when the calendar moved the start


def _add_months(day: dt.date, months: int, anchor_day: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(anchor_day, last))


def next_start(start: dt.date, *, interval: str, count: int, anchor_day: int) -> dt.date:
    if interval == Plan.Interval.DAY:
        return start + dt.timedelta(days=count)
    if interval == Plan.Interval.WEEK:
        return start + dt.timedelta(weeks=count)
    months = count * (12 if interval == Plan.Interval.YEAR else 1)
    return _add_months(start, months, anchor_day)


def span(start: dt.date, *, plan: Plan, anchor_day: int) -> Span:
    """The period of ``plan`` that starts on ``start``."""
    following = next_start(
        start, interval=plan.interval, count=plan.interval_count, anchor_day=anchor_day
    )
    shifted = (
        anchor_day
        if plan.interval in (Plan.Interval.MONTH, Plan.Interval.YEAR) and start.day != anchor_day
        else None
    )
    return Span(start=start, end=following - dt.timedelta(days=1), shifted_from_day=shifted)


def local_midnight(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)
