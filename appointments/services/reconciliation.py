"""Daily reconciliation of appointment payments: provider payments, appointment statuses and
refunds, per organisation and day (beat, and on demand through the API).

``appointments_reconcile_day`` counts the day's paid requests, cancellations, no-shows,
completions, forfeits and refunds apart, compares the appointment payments the gateway verified
with the requests paid, and checks every request's state against its appointment and payment:

- ``cancelled_paid_undecided`` / ``no_show_paid_undecided``: money still held, no refund or
  forfeit decided;
- ``refunded_but_completed``: a refund on a visit that took place;
- ``appointment_request_payment_mismatch``: request and provider payment disagree (paid request
  whose payment is not settled, settled payment whose request is not paid, refunds the request
  does not show);
- ``late_appointment_payment``: an expired request whose payment the gateway reported paid after
  the payments core had expired it (the hook's own case covers a payment verified late).

Each problem is one exception case (deduplicated); a rerun clears the cases whose problem is
gone. The reconciliation app can call this for a day (it returns the row with ids and amounts)
to set appointment statuses beside the provider's own report.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from appointments import exception_kinds as kinds
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentReconciliation,
    PaymentRequest,
)

SETTLED = ("verified", "partially_refunded", "refunded")
Kind = AppointmentEvent.Kind
COUNTED = {
    "paid": (Kind.REQUEST_PAID, Kind.REQUEST_ACCEPTED),
    "cancelled": (Kind.CANCELLED,),
    "no_show": (Kind.NO_SHOW,),
    "completed": (Kind.COMPLETED,),
    "refunds": (Kind.REFUND,),
    "forfeited": (Kind.REQUEST_FORFEITED,),
    "expired": (Kind.REQUEST_EXPIRED,),
    "manual_review": (Kind.REQUEST_MANUAL_REVIEW,),
}
RECONCILED_KINDS = (
    kinds.CANCELLED_PAID_UNDECIDED,
    kinds.NO_SHOW_PAID_UNDECIDED,
    kinds.REFUNDED_BUT_COMPLETED,
    kinds.REQUEST_PAYMENT_MISMATCH,
)


def _bounds(organization, date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(date, dt.time.min, tzinfo=organization.tz)
    return start, start + dt.timedelta(days=1)


def _findings(requests, end: dt.datetime) -> list[dict]:
    """One finding per request whose state disagrees with its appointment or its payment."""
    from payments.models import PaymentEvent

    status = PaymentRequest.Status
    paid_late = set(
        PaymentEvent.objects.filter(
            kind=PaymentEvent.Kind.LATE_PAYMENT,
            payment__appointment_request__in=[r for r in requests if r.status == status.EXPIRED],
        ).values_list("payment_id", flat=True)
    )
    found = []
    for request in requests:
        appointment, payment = request.appointment, request.payment
        kind = None
        if request.status == status.EXPIRED and payment.pk in paid_late:
            # The payments core expired the payment before the money came: it listed its own
            # late_payment case, and the request is listed here, never paid by itself.
            kind = kinds.LATE_APPOINTMENT_PAYMENT
        elif request.status in (status.PAID, status.PARTIALLY_REFUNDED):
            if payment.status not in SETTLED or (
                request.status == status.PAID and payment.refunded_amount > 0
            ):
                kind = kinds.REQUEST_PAYMENT_MISMATCH
            elif appointment.status == Appointment.Status.CANCELLED and (
                appointment.cancelled_at is None or appointment.cancelled_at < end
            ):
                kind = kinds.CANCELLED_PAID_UNDECIDED if request.status == status.PAID else None
            elif appointment.status == Appointment.Status.NO_SHOW:
                kind = kinds.NO_SHOW_PAID_UNDECIDED if request.status == status.PAID else None
        elif (
            (request.status in (status.PENDING, status.EXPIRED) and payment.status in SETTLED)
            or (request.status == status.REFUNDED and payment.status != "refunded")
            or (request.status == status.FORFEITED and payment.refunded_amount > 0)
        ):
            kind = kinds.REQUEST_PAYMENT_MISMATCH
        if (
            kind is None
            and request.status in (status.REFUNDED, status.PARTIALLY_REFUNDED)
            and appointment.status == Appointment.Status.COMPLETED
        ):
            kind = kinds.REFUNDED_BUT_COMPLETED
        if kind is not None:
            found.append(
                {
                    "kind": str(kind),
                    "payment_request": request.pk,
                    "appointment": appointment.pk,
                    "appointment_status": appointment.status,
                    "request_status": request.status,
                    "payment": payment.pk,
                    "payment_status": payment.status,
                    "amount": str(request.amount),
                    "refunded_amount": str(payment.refunded_amount),
                    "currency": request.currency,
                }
            )
    return found


MONEY = ("paid", "refunds", "forfeited")
CENTS = Decimal("0.01")


def _money(amount) -> str:
    return str(Decimal(amount or 0).quantize(CENTS))


def _succeeded_refund_ids(refund_ids) -> set[int]:
    from payments.models import Refund

    return set(
        Refund.objects.filter(pk__in=refund_ids, status=Refund.Status.SUCCEEDED).values_list(
            "pk", flat=True
        )
    )


def _counts(organization, start, end) -> tuple[dict, dict]:
    """The day's counts, and its money per currency (``totals["by_currency"]``).

    ``refunds`` counts the refunds the payments core recorded succeeded (a refund event whose
    refund failed, or is still pending, is no money back). The flat money keys of ``totals``
    are the organisation's default currency's figures (kept for readers of the single-currency
    shape; before, they added amounts of different currencies together).
    """
    from payments.models import Payment, Refund

    events = AppointmentEvent.objects.filter(
        organization=organization, occurred_at__gte=start, occurred_at__lt=end
    )
    kinds = {k: name for name, event_kinds in COUNTED.items() for k in event_kinds}
    counts = dict.fromkeys(COUNTED, 0)
    by_currency: dict[str, dict[str, Decimal]] = {}

    def add(currency, name, amount):
        if name in MONEY and currency:
            entry = by_currency.setdefault(currency, {})
            entry[name] = entry.get(name, Decimal(0)) + (amount or Decimal(0))

    for row in (
        events.exclude(kind=Kind.REFUND)
        .values("kind", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by()
    ):
        name = kinds.get(row["kind"])
        if name is None:
            continue
        counts[name] += row["n"]
        add(row["currency"], name, row["total"])
    refunds = list(events.filter(kind=Kind.REFUND).values_list("data", "currency", "amount"))
    succeeded = _succeeded_refund_ids([(data or {}).get("refund") for data, _c, _a in refunds])
    for data, currency, amount in refunds:
        if (data or {}).get("refund") in succeeded:
            counts["refunds"] += 1
            add(currency, "refunds", amount)
    payments = (
        Payment.objects.filter(
            organization=organization,
            purpose=Payment.Purpose.APPOINTMENT,
            verified_at__gte=start,
            verified_at__lt=end,
        )
        .values("currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by()
    )
    refunded = (
        Refund.objects.filter(
            payment__organization=organization,
            payment__purpose=Payment.Purpose.APPOINTMENT,
            status=Refund.Status.SUCCEEDED,
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .values("currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by()
    )
    counts["provider_payments_verified"] = 0
    counts["provider_refunds_succeeded"] = 0
    for rows, name in (
        (payments, "provider_payments_verified"),
        (refunded, "provider_refunds_succeeded"),
    ):
        for row in rows:
            counts[name] += row["n"]
            entry = by_currency.setdefault(row["currency"], {})
            entry[name] = entry.get(name, Decimal(0)) + (row["total"] or Decimal(0))
    names = (*MONEY, "provider_payments_verified", "provider_refunds_succeeded")
    currencies = {
        currency: {name: _money(figures.get(name)) for name in names}
        for currency, figures in sorted(by_currency.items())
    }
    default = currencies.get(organization.default_currency, {})
    totals = {name: default.get(name, "0.00") for name in names}
    totals["currency"] = organization.default_currency
    totals["by_currency"] = currencies
    return counts, totals


@transaction.atomic
def appointments_reconcile_day(*, organization, date: dt.date, actor) -> AppointmentReconciliation:
    """Reconcile ``date`` (in the organisation's time zone) and list what disagrees."""
    from exceptionqueue.models import ExceptionCase
    from exceptionqueue.services import exception_clear, exception_raise

    start, end = _bounds(organization, date)
    counts, totals = _counts(organization, start, end)
    requests = (
        PaymentRequest.objects.filter(organization=organization, created_at__lt=end)
        .exclude(status=PaymentRequest.Status.MANUAL_REVIEW)  # listed when it arrived
        .select_related("appointment__branch", "payment")
        .order_by("pk")
    )
    findings = _findings(list(requests), end)
    counts["findings"] = len(findings)
    wanted = set()
    for item in findings:
        key = f"{item['kind']}:request:{item['payment_request']}"
        wanted.add(key)
        exception_raise(
            organization=organization,
            kind=item["kind"],
            dedup_key=key,
            message=(
                f"Appointment #{item['appointment']} is {item['appointment_status']}, its "
                f"request #{item['payment_request']} is {item['request_status']} and payment "
                f"#{item['payment']} is {item['payment_status']} "
                f"({item['amount']} {item['currency']}, refunded {item['refunded_amount']})."
            ),
            actor=actor,
            amount=Decimal(item["amount"]),
            currency=item["currency"],
            details={**item, "date": date.isoformat()},
            period_start=date,
            period_end=date,
        )
    stale = ExceptionCase.objects.filter(
        organization=organization,
        kind__in=[str(k) for k in RECONCILED_KINDS],
        status__in=ExceptionCase.ACTIVE_STATUSES,
    ).values_list("dedup_key", flat=True)
    for key in set(stale) - wanted:
        exception_clear(
            organization=organization, dedup_key=key, actor=actor, note="reconciled: solved"
        )
    row, _ = AppointmentReconciliation.objects.update_or_create(
        organization=organization,
        date=date,
        defaults={
            "counts": counts,
            "totals": totals,
            "findings": findings,
            "ran_at": timezone.now(),
        },
    )
    return row
