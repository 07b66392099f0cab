"""Subscriptions on the accountants' desk: the billing periods due in an accounting period.

Registered in ``BillingConfig.ready()`` through the desk's registry (the desk imports no domain).
A billing period belongs to the accounting period its ``due_date`` falls in: expected is what
was due, verified what was collected for it, refunded what went back; the periods still in
manual review are listed with a link to decide them. The export sheet writes the same rows, so
its totals (``subscriptions_expected``, ``subscriptions_verified``) are the section's, to the luma.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing.models import BillingPeriod
from billing.selectors import manual_review_queue, period_list

# Billing period statuses (the model's labels), translated by the desk's catalogue.
STATUS_LABELS = [
    gettext_noop("Scheduled"),
    gettext_noop("Invoiced"),
    gettext_noop("Payment pending"),
    gettext_noop("Paid"),
    gettext_noop("Retrying"),
    gettext_noop("Manual review"),
    gettext_noop("Waived"),
]


def periods_due(*, organization, period):
    """Billing periods due in the accounting period's dates (``due_date`` in start..end)."""
    return period_list(organization=organization).filter(
        due_date__gte=period.start, due_date__lte=period.end
    )


def section(*, period, organization, lo, hi, user) -> dict | None:
    from desk.charts import bar_list

    due = periods_due(organization=organization, period=period)
    if not due.exists():
        return None
    by_plan = list(
        due.values("plan__name", "currency")
        .annotate(
            n=Count("id"),
            expected=Sum("expected_amount"),
            verified=Sum("verified_amount"),
            refunded=Sum("refunded_amount"),
            paid=Count("id", filter=Q(status=BillingPeriod.Status.PAID)),
            unpaid=Count("id", filter=Q(status__in=BillingPeriod.UNPAID)),
            review=Count("id", filter=Q(status=BillingPeriod.Status.MANUAL_REVIEW)),
        )
        .order_by("currency", "plan__name")
    )
    totals: dict[str, dict] = {}
    for row in by_plan:
        row["outstanding"] = row["expected"] - row["verified"]
        row["rate"] = _rate(row["verified"], row["expected"])
        entry = totals.setdefault(
            row["currency"],
            {"currency": row["currency"], "n": 0, "expected": Decimal(0), "verified": Decimal(0)},
        )
        entry.setdefault("refunded", Decimal(0))
        entry.setdefault("review", 0)
        entry["n"] += row["n"]
        entry["review"] += row["review"]
        for name in ("expected", "verified", "refunded"):
            entry[name] += row[name]
    for entry in totals.values():
        entry["outstanding"] = entry["expected"] - entry["verified"]
        entry["rate"] = _rate(entry["verified"], entry["expected"])
    review = (
        manual_review_queue(organization=organization)
        .filter(due_date__gte=period.start, due_date__lte=period.end)
        .select_related("subscription__customer")
        .order_by("due_date", "id")
    )
    chart = bar_list(
        [(f"{row['plan__name']} ({row['currency']})", row["rate"], "rate") for row in by_plan],
        title=_("Collection rate by plan"),
        unit="%",
        places=1,
        peak=Decimal(100),
    )
    return {
        "plans": by_plan,
        "totals": sorted(totals.values(), key=lambda r: r["currency"]),
        "review": list(review[:50]),
        "review_count": review.count(),
        "chart": chart,
    }


def _rate(part: Decimal, whole: Decimal) -> Decimal:
    if not whole:
        return Decimal(0)
    return (part * 100 / whole).quantize(Decimal("0.1"))


COLUMNS = (
    "id",
    "subscription",
    "customer",
    "plan",
    "number",
    "due_date",
    "status",
    "verified_at",
    "currency",
    "expected",
    "verified",
    "refunded",
)


def export_rows(*, period, organization, lo, hi, **_):
    rows = (
        periods_due(organization=organization, period=period)
        .order_by("due_date", "id")
        .values_list(
            "id",
            "subscription_id",
            "subscription__customer__name",
            "plan__name",
            "number",
            "due_date",
            "status",
            "verified_at",
            "currency",
            "expected_amount",
            "verified_amount",
            "refunded_amount",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        verified_at = row[7]
        local = (
            verified_at.astimezone(organization.tz).strftime("%Y-%m-%d %H:%M:%S")
            if verified_at
            else ""
        )
        yield (*row[:7], local, *row[8:])


def register() -> None:
    from desk.registry import register_export_sheet, register_period_section

    register_period_section(
        "billing",
        title=gettext_noop("Subscriptions"),
        template="billing/desk/period_section.html",
        context=section,
        order=30,
    )
    register_export_sheet(
        "subscription_periods",
        title="Subscription periods",
        columns=COLUMNS,
        rows=export_rows,
        totals={"expected": "subscriptions_expected", "verified": "subscriptions_verified"},
        amount_columns=("expected", "verified", "refunded"),
        order=40,
    )
