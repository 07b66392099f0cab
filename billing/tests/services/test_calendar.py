import datetime as dt
from decimal import Decimal

from billing.models import Plan
from billing.services.calendar import span
from billing.services.plan_changes import proration_amount

D = dt.date


def monthly(count=1):
    return Plan(interval="month", interval_count=count, amount=Decimal("1"), currency="AMD")


def test_month_end_31_jan_plus_one_month_is_28_feb_and_back_to_31_mar():
    first = span(D(2027, 1, 31), plan=monthly(), anchor_day=31)
    assert (first.start, first.end, first.shifted_from_day) == (
        D(2027, 1, 31),
        D(2027, 2, 27),
        None,
    )
    second = span(first.end + dt.timedelta(days=1), plan=monthly(), anchor_day=31)
    assert (second.start, second.end, second.shifted_from_day) == (
        D(2027, 2, 28),
        D(2027, 3, 30),
        31,
    )
    third = span(second.end + dt.timedelta(days=1), plan=monthly(), anchor_day=31)
    assert (third.start, third.shifted_from_day) == (D(2027, 3, 31), None)


def test_leap_year_february_and_yearly_29_feb():
    assert span(D(2028, 1, 31), plan=monthly(), anchor_day=31).end == D(2028, 2, 28)
    yearly = Plan(interval="year", interval_count=1, amount=Decimal("1"), currency="AMD")
    assert span(D(2028, 2, 29), plan=yearly, anchor_day=29).end == D(2029, 2, 27)


def test_days_and_weeks():
    weekly = Plan(interval="week", interval_count=2, amount=Decimal("1"), currency="AMD")
    assert span(D(2026, 12, 1), plan=weekly, anchor_day=1).end == D(2026, 12, 14)
    daily = Plan(interval="day", interval_count=1, amount=Decimal("1"), currency="AMD")
    assert span(D(2026, 12, 31), plan=daily, anchor_day=31).end == D(2026, 12, 31)


def test_proration_counts_today_and_rounds_once():
    # 30-day period, 10 days left (today included): a third of the 9000.00 difference
    amount = proration_amount(
        old=Decimal("15000.00"),
        new=Decimal("24000.00"),
        start=D(2026, 12, 1),
        end=D(2026, 12, 30),
        today=D(2026, 12, 21),
        currency="AMD",
    )
    assert amount == Decimal("3000.00")
    odd = proration_amount(
        old=Decimal("100.00"),
        new=Decimal("200.00"),
        start=D(2026, 12, 1),
        end=D(2026, 12, 3),
        today=D(2026, 12, 2),
        currency="AMD",
    )
    assert odd == Decimal("66.67")
