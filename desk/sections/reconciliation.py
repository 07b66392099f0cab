"""Reconciliation of a period: runs and their counts, provider reports, bank-statement matches,
and the late changes booked in it (adjustments)."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_noop

from reconciliation.models import (
    BankStatementLine,
    ProviderReport,
    ReconciliationItem,
    ReconciliationRun,
)
from reconciliation.selectors import adjustments_of_period

# Run triggers and adjustment kinds (the reconciliation app's labels), translated by the desk's
# catalogue in the template.
LABELS = [
    gettext_noop("Nightly"),
    gettext_noop("Manual (command or API)"),
    gettext_noop("Refund of a payment of a closed period"),
    gettext_noop("Payment verified after its period closed"),
]


def section(*, period, organization, lo, hi, user) -> dict:
    runs = ReconciliationRun.objects.filter(
        organization=organization, period_start__lte=period.end, period_end__gte=period.start
    ).order_by("-created_at")[:10]
    reports = ProviderReport.objects.filter(organization=organization).filter(
        Q(period_start__lte=period.end, period_end__gte=period.start) | Q(status="importing")
    )
    lines = BankStatementLine.objects.filter(
        statement__organization=organization,
        booked_on__gte=period.start,
        booked_on__lte=period.end,
        amount__lt=0,
    )
    bank = lines.aggregate(
        debits=Count("id"),
        matched=Count("id", filter=Q(payout__isnull=False)),
        unmatched=Count("id", filter=Q(payout__isnull=True)),
        total=Sum("amount"),
    )
    runs = list(runs)
    for run in runs:
        run.problems = sum(int((run.counts or {}).get(c, 0)) for c in ReconciliationItem.PROBLEMS)
    adjustments = adjustments_of_period(period=period).order_by("booked_on", "id")
    return {
        "runs": runs,
        "reports": list(reports.order_by("-created_at")[:10]),
        "bank": bank,
        "unmatched_lines": list(lines.filter(payout__isnull=True).order_by("booked_on")[:20]),
        "adjustments": list(adjustments[:50]),
    }


def _adjustment_rows(*, period, **_):
    return (
        adjustments_of_period(period=period)
        .order_by("booked_on", "id")
        .values_list(
            "id", "kind", "booked_on", "origin_date", "payment__order_number", "currency", "amount"
        )
        .iterator(chunk_size=2000)
    )


SHEETS = [
    {
        "name": "adjustments",
        "title": "Adjustments",
        "columns": ("id", "kind", "booked_on", "origin_date", "order_number", "currency", "amount"),
        "rows": _adjustment_rows,
        "totals": {"amount": "adjustments"},
        "order": 30,
    },
]
