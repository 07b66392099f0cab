"""The dates payops accepts, in one place: 1970-01-01..9998-12-31.

Python's dates end at 9999-12-31 and start at 0001-01-01: a day added to the last one, or the
first one read in a time zone east of UTC (Asia/Yerevan is UTC+4), overflows, and a request that
carried such a date used to be a 500. Every date that enters payops (an API filter or body
field, a desk form, a provider report's ``paid_at``, an accounting period) is checked against
this range where it enters, a year's margin inside Python's, so the code behind it (local-day
bounds, ``+ 1 day``, time-zone conversion) never leaves Python's range. ``core.api.filters``
applies it to every API filter and body date; ``local_day_bounds`` cannot overflow even for a
date that was stored before these checks.
"""

from __future__ import annotations

import datetime as dt

from core.errors import RequestError

FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)
EARLIEST = dt.datetime.combine(FIRST_DAY, dt.time.min, tzinfo=dt.UTC)
LATEST = dt.datetime.combine(LAST_DAY, dt.time.max, tzinfo=dt.UTC)
RANGE_MESSAGE = f"Out of range: dates are from {FIRST_DAY} to {LAST_DAY} (UTC)."


def date_in_range(value: dt.date | dt.datetime) -> bool:
    """Whether ``value`` (a date, or a date-time: an aware one compared in UTC) is accepted."""
    if isinstance(value, dt.datetime):
        try:
            if value.tzinfo is not None and value.utcoffset() is not None:
                value = value.astimezone(dt.UTC)
            else:
                value = value.replace(tzinfo=dt.UTC)
        except (OverflowError, ValueError):
            return False
        return EARLIEST <= value <= LATEST
    return FIRST_DAY <= value <= LAST_DAY


def dates_check(*, sentence: str = "", **named: dt.date | dt.datetime | None) -> None:
    """Raise 400 ``invalid`` naming every field whose date is outside the accepted range, with
    ``sentence`` (or a general one) as the error's message."""
    bad = {
        name: [RANGE_MESSAGE]
        for name, value in named.items()
        if value is not None and not date_in_range(value)
    }
    if bad:
        raise RequestError.INVALID.error(
            sentence or f"Dates are accepted from {FIRST_DAY} to {LAST_DAY}.", fields=bad
        )


def local_day_bounds(
    tz: dt.tzinfo, start: dt.date, end: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """UTC bounds ``[lo, hi)`` of the local dates ``start..end`` in ``tz``.

    Never overflows: a bound beyond Python's range is the first or last moment Python holds."""
    try:
        lo = dt.datetime.combine(start, dt.time.min, tzinfo=tz).astimezone(dt.UTC)
    except OverflowError:
        lo = dt.datetime.min.replace(tzinfo=dt.UTC)
    try:
        hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        hi = hi.astimezone(dt.UTC)
    except OverflowError:
        hi = dt.datetime.max.replace(tzinfo=dt.UTC)
    return lo, hi
