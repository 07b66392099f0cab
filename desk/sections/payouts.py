"""Payouts of a period: by status and currency (with a chart), and by recipient."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from desk.charts import bar_list
from desk.sections.payments import _local
from payouts.models import Payout, QrPayment
from reconciliation.services.figures import figure_in_flight, figure_paid_out, figure_verified

ACTIVE = ("requested", "processing")
# Payout statuses (the payouts app's labels), translated by the desk's catalogue.
STATUS_LABELS = [
    gettext_noop("Requested"),
    gettext_noop("Processing"),
    gettext_noop("Completed"),
    gettext_noop("Cancelled"),
    gettext_noop("Reversed (corrected)"),
]


def _payouts(*, organization, lo, hi):
    """Payouts the period touches: created in it, or completed in it."""
    return Payout.objects.filter(organization=organization).filter(
        Q(created_at__gte=lo, created_at__lt=hi) | Q(completed_at__gte=lo, completed_at__lt=hi)
    )


def section(*, period, organization, lo, hi, user) -> dict | None:
    payouts = _payouts(organization=organization, lo=lo, hi=hi)
    # The recipients' share of the period's ``verified`` figure (the same rows).
    qr = QrPayment.objects.filter(
        organization=organization,
        payment__in=figure_verified(organization_id=organization.pk, lo=lo, hi=hi).values("pk"),
    )
    if not payouts.exists() and not qr.exists():
        return None
    order = {s: i for i, s in enumerate(Payout.Status.values)}
    labels = dict(Payout.Status.choices)
    statuses = sorted(
        payouts.values("status", "currency").annotate(
            n=Count("id"), gross=Sum("gross"), fee=Sum("fee"), net=Sum("net")
        ),
        key=lambda r: (r["currency"], order.get(r["status"], 99)),
    )
    for row in statuses:
        row["label"] = _(labels.get(row["status"], row["status"]))
    recipients: dict[tuple, dict] = {}
    for row in qr.values("recipient__name", "payment__currency").annotate(
        n=Count("id"), verified=Sum("payment__amount")
    ):
        key = (row["recipient__name"], row["payment__currency"])
        recipients[key] = {"name": key[0], "currency": key[1], "count": row["n"]}
        recipients[key].update(verified=row["verified"], paid_out=Decimal(0), in_flight=Decimal(0))
    for row in payouts.values("recipient__name", "currency").annotate(
        paid=Sum("gross", filter=Q(status="completed", completed_at__gte=lo, completed_at__lt=hi)),
        flight=Sum("gross", filter=Q(status__in=ACTIVE)),
    ):
        key = (row["recipient__name"], row["currency"])
        entry = recipients.setdefault(
            key,
            {"name": key[0], "currency": key[1], "count": 0, "verified": Decimal(0)},
        )
        entry["paid_out"] = row["paid"] or Decimal(0)
        entry["in_flight"] = row["flight"] or Decimal(0)
    chart = bar_list(
        [(r["label"], Decimal(r["n"]), f"status-{r['status']}") for r in statuses],
        title=_("Payouts by status (count)"),
    )
    return {
        "statuses": statuses,
        "recipients": sorted(recipients.values(), key=lambda r: (r["currency"], r["name"])),
        "chart": chart,
    }


COLUMNS = (
    "id",
    "recipient",
    "branch",
    "status",
    "created_at",
    "completed_at",
    "currency",
    "gross",
    "fee",
    "net",
    "reference",
)


def _rows(qs, organization):
    for p in qs.order_by("id").values_list(
        "id",
        "recipient__name",
        "branch__name",
        "status",
        "created_at",
        "completed_at",
        "currency",
        "gross",
        "fee",
        "net",
        "reference",
    ):
        yield (*p[:4], _local(p[4], organization), _local(p[5], organization), *p[6:])


def _completed_rows(*, organization, lo, hi, **_):
    return _rows(figure_paid_out(organization_id=organization.pk, lo=lo, hi=hi), organization)


def _in_flight_rows(*, organization, lo, hi, **_):
    return _rows(figure_in_flight(organization_id=organization.pk, lo=lo, hi=hi), organization)


SHEETS = [
    {
        "name": "payouts_completed",
        "title": "Payouts paid out",
        "columns": COLUMNS,
        "rows": _completed_rows,
        "totals": {"gross": "paid_out", "fee": "fees"},
        "amount_columns": ("gross", "fee", "net"),
        "order": 20,
    },
    {
        "name": "payouts_in_flight",
        "title": "Payouts in flight",
        "columns": COLUMNS,
        "rows": _in_flight_rows,
        "totals": {"gross": "in_flight"},
        "amount_columns": ("gross", "fee", "net"),
        "order": 21,
    },
]
