"""Appointment payments on the accountants' desk: the requests paid in an accounting period.

Registered in ``AppointmentsConfig.ready()`` through the desk's registry (the desk imports no
domain). A payment request belongs to the accounting period its ``paid_at`` falls in; the
section counts them apart by what became of the visit (completed, ahead, cancelled, no-show),
with what was paid, what went back and what the clinic keeps. No customer context is read.
The export sheet writes the same rows: its totals (``appointments_paid``,
``appointments_refunded``) are the section's, to the luma.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, CharField, Count, Sum, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from appointments.models import Appointment, PaymentRequest
from appointments.selectors import payment_request_list

Status = Appointment.Status
# What became of the visit, in the order the desk shows it.
OUTCOMES = {
    "completed": gettext_noop("Visit took place"),
    "ahead": gettext_noop("Visit ahead"),
    "cancelled": gettext_noop("Cancelled"),
    "no_show": gettext_noop("No-show"),
}
REQUEST_LABELS = [
    gettext_noop("Paid"),
    gettext_noop("Manual review"),
    gettext_noop("Partially refunded"),
    gettext_noop("Refunded"),
    gettext_noop("Forfeited"),
]


def requests_paid(*, organization, lo, hi):
    return payment_request_list(organization=organization).filter(paid_at__gte=lo, paid_at__lt=hi)


def _outcome():
    return Case(
        When(appointment__status=Status.COMPLETED, then=Value("completed")),
        When(appointment__status=Status.CANCELLED, then=Value("cancelled")),
        When(appointment__status=Status.NO_SHOW, then=Value("no_show")),
        default=Value("ahead"),
        output_field=CharField(),
    )


def section(*, period, organization, lo, hi, user) -> dict | None:
    paid = requests_paid(organization=organization, lo=lo, hi=hi)
    if not paid.exists():
        return None
    rows: dict[tuple[str, str], dict] = {}
    for row in (
        paid.annotate(outcome=_outcome())
        .values("outcome", "currency")
        .annotate(
            n=Count("id"),
            amount=Sum("amount"),
            refunded=Sum("payment__refunded_amount"),
        )
    ):
        rows[(row["outcome"], row["currency"])] = row
    order = list(OUTCOMES)
    outcomes = []
    totals: dict[str, dict] = {}
    for (outcome, currency), row in sorted(
        rows.items(), key=lambda kv: (kv[0][1], order.index(kv[0][0]))
    ):
        refunded = row["refunded"] or Decimal(0)
        outcomes.append(
            {
                "outcome": outcome,
                "label": _(OUTCOMES[outcome]),
                "currency": currency,
                "n": row["n"],
                "amount": row["amount"],
                "refunded": refunded,
                "kept": row["amount"] - refunded,
            }
        )
        entry = totals.setdefault(
            currency,
            {"currency": currency, "n": 0, "amount": Decimal(0), "refunded": Decimal(0)},
        )
        entry["n"] += row["n"]
        entry["amount"] += row["amount"]
        entry["refunded"] += refunded
    for entry in totals.values():
        entry["kept"] = entry["amount"] - entry["refunded"]
    statuses = list(paid.values("status", "currency").annotate(n=Count("id"), amount=Sum("amount")))
    labels = dict(PaymentRequest.Status.choices)
    for row in statuses:
        row["label"] = _(labels.get(row["status"], row["status"]))
    return {
        "outcomes": outcomes,
        "totals": sorted(totals.values(), key=lambda r: r["currency"]),
        "statuses": sorted(statuses, key=lambda r: (r["currency"], r["status"])),
    }


COLUMNS = (
    "id",
    "appointment",
    "branch",
    "kind",
    "paid_at",
    "visit",
    "request_status",
    "currency",
    "amount",
    "refunded",
)


def export_rows(*, period, organization, lo, hi, **_):
    rows = (
        requests_paid(organization=organization, lo=lo, hi=hi)
        .annotate(outcome=_outcome())
        .order_by("paid_at", "id")
        .values_list(
            "id",
            "appointment_id",
            "appointment__branch__name",
            "kind",
            "paid_at",
            "outcome",
            "status",
            "currency",
            "amount",
            "payment__refunded_amount",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        local = row[4].astimezone(organization.tz).strftime("%Y-%m-%d %H:%M:%S")
        yield (*row[:4], local, *row[5:])


def register() -> None:
    from desk.registry import register_export_sheet, register_period_section

    register_period_section(
        "appointments",
        title=gettext_noop("Appointment payments"),
        template="appointments/desk/period_section.html",
        context=section,
        order=40,
    )
    register_export_sheet(
        "appointment_payments",
        title="Appointment payments",
        columns=COLUMNS,
        rows=export_rows,
        totals={"amount": "appointments_paid", "refunded": "appointments_refunded"},
        amount_columns=("amount", "refunded"),
        order=41,
    )
