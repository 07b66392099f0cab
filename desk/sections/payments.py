"""Payments and refunds of a period: by branch and currency, verified volume by day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import formats
from django.utils.translation import gettext as _

from desk.charts import column_chart
from reconciliation.services.figures import figure_refunded, figure_verified

SETTLED = ("verified", "partially_refunded", "refunded")


def verified_payments(*, organization, lo, hi):
    """The rows of the period's ``verified`` figure (late payments are adjustments)."""
    return figure_verified(organization_id=organization.pk, lo=lo, hi=hi)


def succeeded_refunds(*, organization, lo, hi):
    """The rows of the period's ``refunded`` figure (late refunds are adjustments)."""
    return figure_refunded(organization_id=organization.pk, lo=lo, hi=hi)


def section(*, period, organization, lo, hi, user) -> dict:
    payments = verified_payments(organization=organization, lo=lo, hi=hi)
    refunds = succeeded_refunds(organization=organization, lo=lo, hi=hi)
    rows: dict[tuple[str, str], dict] = {}
    for row in payments.values("branch__name", "currency").annotate(
        n=Count("id"), total=Sum("amount")
    ):
        key = (row["branch__name"], row["currency"])
        rows[key] = {"branch": key[0], "currency": key[1], "count": row["n"]}
        rows[key].update(verified=row["total"], refunded=Decimal(0))
    for row in refunds.values("payment__branch__name", "currency").annotate(total=Sum("amount")):
        key = (row["payment__branch__name"], row["currency"])
        entry = rows.setdefault(
            key,
            {"branch": key[0], "currency": key[1], "count": 0, "verified": Decimal(0)},
        )
        entry["refunded"] = row["total"]
    for entry in rows.values():
        entry["net"] = entry["verified"] - entry["refunded"]
    by_day = {
        r["day"]: r["total"]
        for r in payments.annotate(day=TruncDate("verified_at", tzinfo=organization.tz))
        .values("day")
        .annotate(total=Sum("amount"))
    }
    currencies = sorted({c for _, c in rows})
    unit = currencies[0] if len(currencies) == 1 else ""
    title, points, ticks = volume_bars(period.start, period.end, by_day)
    return {
        "rows": sorted(rows.values(), key=lambda r: (r["currency"], r["branch"])),
        "chart": column_chart(points, title=title, unit=unit, ticks=ticks),
    }


MAX_BARS = 366


def volume_bars(start: dt.date, end: dt.date, by_day: dict[dt.date, Decimal]):
    """``(title, points, ticks)`` of the chart: a bar per day of ``start..end``, or per month or
    per year when a period is longer than ``MAX_BARS`` months (then only the years from the first
    to the last with payments).

    The days are counted, never stepped past ``end`` (a period ending on Python's last date,
    9999-12-31, overflowed at ``+ 1 day``), and a long period (1970..9998 is a valid period)
    is drawn with a bounded number of bars instead of millions."""
    if end < start:
        return _("Verified volume by day"), [], []
    days = (end - start).days + 1
    if days <= MAX_BARS:
        points, ticks = [], []
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            # The bar's title: the locale's one date format; the axis: the day of the month.
            points.append(
                (formats.date_format(day, "SHORT_DATE_FORMAT"), by_day.get(day, Decimal(0)))
            )
            ticks.append(str(day.day))
        return _("Verified volume by day"), points, ticks
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    by_month: dict[tuple[int, int], Decimal] = {}
    by_year: dict[int, Decimal] = {}
    for day, total in by_day.items():
        by_month[(day.year, day.month)] = by_month.get((day.year, day.month), 0) + total
        by_year[day.year] = by_year.get(day.year, 0) + total
    if months <= MAX_BARS:
        points, ticks = [], []
        for index in range(months):
            year, month = divmod(start.year * 12 + start.month - 1 + index, 12)
            first = dt.date(year, month + 1, 1)
            label = formats.date_format(first, "YEAR_MONTH_FORMAT")
            points.append((label, by_month.get((year, month + 1), Decimal(0))))
            ticks.append(str(month + 1))
        return _("Verified volume by month"), points, ticks
    # Longer than MAX_BARS years: the years from the first to the last with payments.
    years = range(min(by_year, default=start.year), max(by_year, default=start.year) + 1)
    points = [(str(year), by_year.get(year, Decimal(0))) for year in years]
    return _("Verified volume by year"), points, [str(year) for year in years]


def _payment_rows(*, organization, lo, hi, **_):
    qs = verified_payments(organization=organization, lo=lo, hi=hi).order_by("verified_at", "id")
    for p in qs.values_list(
        "id",
        "order_number",
        "verified_at",
        "branch__name",
        "provider",
        "purpose",
        "currency",
        "amount",
        "refunded_amount",
        "status",
    ).iterator(chunk_size=2000):
        yield (*p[:2], _local(p[2], organization), *p[3:])


def _refund_rows(*, organization, lo, hi, **_):
    qs = succeeded_refunds(organization=organization, lo=lo, hi=hi).order_by("completed_at", "id")
    for r in qs.values_list(
        "id", "payment__order_number", "completed_at", "payment__branch__name", "currency", "amount"
    ).iterator(chunk_size=2000):
        yield (*r[:2], _local(r[2], organization), *r[3:])


def _local(value, organization) -> str:
    return value.astimezone(organization.tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""


SHEETS = [
    {
        "name": "payments",
        "title": "Payments verified",
        "columns": (
            "id",
            "order_number",
            "verified_at",
            "branch",
            "provider",
            "purpose",
            "currency",
            "amount",
            "refunded_amount",
            "status",
        ),
        "rows": _payment_rows,
        "totals": {"amount": "verified"},
        "amount_columns": ("amount", "refunded_amount"),
        "order": 10,
    },
    {
        "name": "refunds",
        "title": "Refunds",
        "columns": ("id", "order_number", "completed_at", "branch", "currency", "amount"),
        "rows": _refund_rows,
        "totals": {"amount": "refunded"},
        "order": 11,
    },
]
