"""``core.dates``: the one accepted range of dates, and local-day bounds that never overflow."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.dates import (
    EARLIEST,
    LATEST,
    date_in_range,
    dates_check,
    local_day_bounds,
)
from core.errors import DomainError

YEREVAN = ZoneInfo("Asia/Yerevan")


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (dt.date(1970, 1, 1), True),
        (dt.date(9998, 12, 31), True),
        (dt.date(1969, 12, 31), False),
        (dt.date(9999, 1, 1), False),
        (dt.date.min, False),
        (dt.date.max, False),
        (dt.datetime(9998, 12, 31, 23, 59, tzinfo=dt.UTC), True),
        (dt.datetime(9999, 1, 1, 2, tzinfo=YEREVAN), True),  # 9998-12-31 22:00 UTC
        (dt.datetime(1970, 1, 1, 2, tzinfo=YEREVAN), False),  # 1969-12-31 22:00 UTC
        (dt.datetime(1, 1, 1, tzinfo=YEREVAN), False),  # overflows when converted to UTC
        (dt.datetime.max, False),
    ],
)
def test_date_in_range(value, accepted):
    assert date_in_range(value) is accepted


def test_dates_check_names_every_field_out_of_range():
    dates_check(start=dt.date(2026, 12, 1), end=None)
    with pytest.raises(DomainError) as caught:
        dates_check(start=dt.date(1, 1, 1), middle=dt.date(2026, 1, 1), end=dt.date.max)
    assert caught.value.code == "invalid"
    assert caught.value.status_code == 400
    assert list(caught.value.fields) == ["start", "end"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date.max, dt.date.max),
        (dt.date.min, dt.date.min),
        (dt.date(9999, 12, 1), dt.date(9999, 12, 31)),
    ],
)
def test_local_day_bounds_never_overflow(start, end):
    lo, hi = local_day_bounds(YEREVAN, start, end)
    assert lo < hi
    assert lo.tzinfo is dt.UTC
    assert hi.tzinfo is dt.UTC


def test_local_day_bounds_of_the_accepted_range():
    lo, hi = local_day_bounds(YEREVAN, EARLIEST.date(), LATEST.date())
    assert lo == dt.datetime(1969, 12, 31, 20, tzinfo=dt.UTC)
    assert hi == dt.datetime(9998, 12, 31, 20, tzinfo=dt.UTC)
