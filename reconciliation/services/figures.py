"""Per-period figures and the money self-check: one function per figure.

**The counting rule.** Every money event of an organisation is counted exactly once, in the
period it is *booked* in, under one figure:

- a payment's verification counts in ``verified`` of the period of its ``verified_at``, unless
  it is a late payment (its period of creation was closed when it was verified): then it counts
  in ``adjustments`` (a ``late_payment`` ``PeriodAdjustment``, positive) of the period it is
  booked in;
- a refund's success counts in ``refunded`` of the period of its ``completed_at``, unless it is a
  late refund (the period its payment was verified in, or its own date's period, was closed):
  then it counts in ``adjustments`` (a ``late_refund`` ``PeriodAdjustment``, negative) of the
  period it is booked in;
- ``adjustments`` of a period sums the adjustments booked in it (``booked_on``), whose origin
  is in an earlier, closed period.

So ``verified - refunded + adjustments`` of a period is the money that moved in it, a closed
period's figures never change after its close (nothing is booked in it any more), and the
periods' figures add up to every payment and refund once. Each figure has one function that
returns its rows (``figure_<name>``); ``period_figures`` sums them, the desk's sections and
exports list them: the page, the API, the close's event row and the CSV/XLSX totals agree.

Figures of ``[lo, hi)`` per currency (``period_figures``):

- ``expected``: payments created in the period that are, or may still become, money (pending
  and settled); a view of what was asked, not a money event;
- ``verified``: payments verified in the period (settled statuses), late payments excepted;
- ``refunded``: refunds that succeeded in the period, late refunds excepted;
- ``fees``: the fee of the payouts completed in the period (``gross = fee + net``);
- ``provider_fees``: the fees the provider reports list for rows of the period (a row a newer
  report of the same provider covers is counted from that report only, as the matching does);
- ``paid_out``: the gross of the payouts completed in the period;
- ``in_flight``: the gross of the payouts requested or processing, created in the period (a
  state, not an event: a payout leaves it when it completes and counts in ``paid_out`` of the
  period it completes in);
- ``adjustments``: the late payments and refunds booked in the period (signed).

The money self-check (``money_self_check``), per recipient and currency, is about payments, not
bookings: over the QR payments verified in the period (late or not: their money is the
recipient's either way), with every refund they had so far,

    verified - refunded = paid out + in flight + carried adjustments

where paid out is the sum of the payments' active lines in completed payouts, in flight the
lines in requested or processing payouts plus what is not in any payout yet
(``amount - refunded``), and carried adjustments the payouts' non-voided ``PayoutAdjustment``
rows of those payments (negative). Any difference, to the luma, is drift. A late refund or late
payment changes which period's figure counts it, never the payment's lines, so the identity
holds with the counting rule.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Sum

from payments.models import Payment, Refund
from payouts.models import Payout
from reconciliation.models import PeriodAdjustment
from reconciliation.services.matching import report_row_scope

SETTLED = "('verified', 'partially_refunded', 'refunded')"
SETTLED_STATUSES = ("verified", "partially_refunded", "refunded")
IN_FLIGHT_STATUSES = ("requested", "processing")


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _add(figures: dict, name: str, rows) -> None:
    for currency, total in rows:
        if currency is None:
            continue
        entry = figures.setdefault(currency, {})
        entry[name] = str(Decimal(str(total or 0)).quantize(Decimal("0.01")))


FIGURES = (
    "expected",
    "verified",
    "refunded",
    "fees",
    "provider_fees",
    "paid_out",
    "in_flight",
    "adjustments",
)


# --- one function per figure: the rows it counts ---------------------------------------------


def figure_expected(*, organization_id: int, lo: dt.datetime, hi: dt.datetime) -> QuerySet:
    """``expected`` (column ``amount``): payments created in ``[lo, hi)``, not declined or
    expired."""
    return Payment.objects.filter(
        organization_id=organization_id, created_at__gte=lo, created_at__lt=hi
    ).exclude(status__in=("declined", "expired"))


def figure_verified(*, organization_id: int, lo: dt.datetime, hi: dt.datetime) -> QuerySet:
    """``verified`` (column ``amount``): payments verified in ``[lo, hi)``, except late payments
    (those count in ``adjustments`` where they are booked)."""
    late = PeriodAdjustment.objects.filter(
        payment=OuterRef("pk"), kind=PeriodAdjustment.Kind.LATE_PAYMENT
    )
    return Payment.objects.filter(
        organization_id=organization_id,
        status__in=SETTLED_STATUSES,
        verified_at__gte=lo,
        verified_at__lt=hi,
    ).filter(~Exists(late))


def figure_refunded(*, organization_id: int, lo: dt.datetime, hi: dt.datetime) -> QuerySet:
    """``refunded`` (column ``amount``): refunds succeeded in ``[lo, hi)``, except late refunds
    (those count in ``adjustments`` where they are booked)."""
    late = PeriodAdjustment.objects.filter(refund=OuterRef("pk"))
    return Refund.objects.filter(
        organization_id=organization_id,
        status=Refund.Status.SUCCEEDED,
        completed_at__gte=lo,
        completed_at__lt=hi,
    ).filter(~Exists(late))


def figure_paid_out(*, organization_id: int, lo: dt.datetime, hi: dt.datetime) -> QuerySet:
    """``paid_out`` (column ``gross``) and ``fees`` (column ``fee``): payouts completed in
    ``[lo, hi)``."""
    return Payout.objects.filter(
        organization_id=organization_id,
        status=Payout.Status.COMPLETED,
        completed_at__gte=lo,
        completed_at__lt=hi,
    )


figure_fees = figure_paid_out


def figure_in_flight(*, organization_id: int, lo: dt.datetime, hi: dt.datetime) -> QuerySet:
    """``in_flight`` (column ``gross``): payouts requested or processing, created in
    ``[lo, hi)``."""
    return Payout.objects.filter(
        organization_id=organization_id,
        status__in=IN_FLIGHT_STATUSES,
        created_at__gte=lo,
        created_at__lt=hi,
    )


def figure_adjustments(*, organization_id: int, start: dt.date, end: dt.date) -> QuerySet:
    """``adjustments`` (column ``amount``, signed): late payments and refunds booked on the
    local dates ``[start, end]``."""
    return PeriodAdjustment.objects.filter(
        organization_id=organization_id, booked_on__gte=start, booked_on__lte=end
    )


def _by_currency(qs: QuerySet, column: str) -> list[tuple]:
    return list(
        qs.order_by()
        .values("currency")
        .annotate(total=Sum(column))
        .values_list("currency", "total")
    )


def period_figures(
    *, organization_id: int, lo: dt.datetime, hi: dt.datetime, start: dt.date, end: dt.date
) -> dict[str, dict[str, str]]:
    """Figures per currency (decimal strings), every name present for every currency seen."""
    figures: dict[str, dict[str, str]] = {}
    org = organization_id
    span = {"organization_id": org, "lo": lo, "hi": hi}
    _add(figures, "expected", _by_currency(figure_expected(**span), "amount"))
    _add(figures, "verified", _by_currency(figure_verified(**span), "amount"))
    _add(figures, "refunded", _by_currency(figure_refunded(**span), "amount"))
    _add(figures, "fees", _by_currency(figure_fees(**span), "fee"))
    _add(figures, "paid_out", _by_currency(figure_paid_out(**span), "gross"))
    _add(figures, "in_flight", _by_currency(figure_in_flight(**span), "gross"))
    # The rows the matching reads: an older report's rows where a newer report of the same
    # provider covers their time are superseded (counted once, from the newer report).
    scope, scope_params, _ = report_row_scope(org, lo, hi)
    _add(
        figures,
        "provider_fees",
        _rows(
            "SELECT rr.currency, sum(rr.fee) FROM reconciliation_providerreportrow rr "
            f"WHERE {scope} AND rr.paid_at >= %s AND rr.paid_at < %s GROUP BY rr.currency",
            [*scope_params, lo, hi],
        ),
    )
    _add(
        figures,
        "adjustments",
        _by_currency(figure_adjustments(organization_id=org, start=start, end=end), "amount"),
    )
    for entry in figures.values():
        for name in FIGURES:
            entry.setdefault(name, "0.00")
    return figures


SELF_CHECK_SQL = f"""
SELECT pay.recipient_id, pay.currency,
  sum(pay.amount), sum(pay.refunded_amount),
  sum(coalesce(l.paid_out, 0)),
  sum(coalesce(l.in_payout, 0)
      + CASE WHEN l.held = 0 OR l.held IS NULL THEN pay.amount - pay.refunded_amount ELSE 0 END),
  sum(coalesce(a.carried, 0))
FROM (
  SELECT q.recipient_id, p.id, p.amount, p.refunded_amount, p.currency
  FROM payouts_qrpayment q JOIN payments_payment p ON p.id = q.payment_id
  WHERE q.organization_id = %s AND p.status IN {SETTLED}
    AND p.verified_at >= %s AND p.verified_at < %s
) pay
LEFT JOIN (
  SELECT l.payment_id,
    sum(CASE WHEN o.status = 'completed' THEN l.amount ELSE 0 END) AS paid_out,
    sum(CASE WHEN o.status IN ('requested', 'processing') THEN l.amount ELSE 0 END) AS in_payout,
    sum(CASE WHEN l.kind = 'payment' THEN 1 ELSE 0 END) AS held
  FROM payouts_payoutline l JOIN payouts_payout o ON o.id = l.payout_id
  WHERE l.active AND l.kind IN ('payment', 'refund') AND o.organization_id = %s
  GROUP BY l.payment_id
) l ON l.payment_id = pay.id
LEFT JOIN (
  SELECT a.payment_id, sum(a.amount) AS carried
  FROM payouts_payoutadjustment a
  LEFT JOIN payouts_payoutadjustmentvoid v ON v.adjustment_id = a.id
  WHERE v.id IS NULL AND a.organization_id = %s
  GROUP BY a.payment_id
) a ON a.payment_id = pay.id
GROUP BY pay.recipient_id, pay.currency
"""


def money_self_check(*, organization_id: int, lo: dt.datetime, hi: dt.datetime) -> list[dict]:
    """One entry per recipient and currency: the five sums and the drift (0 when it holds)."""
    org = organization_id
    checks = []
    for recipient, currency, verified, refunded, paid_out, in_flight, carried in _rows(
        SELF_CHECK_SQL, [org, lo, hi, org, org]
    ):
        values = [
            Decimal(str(v or 0)).quantize(Decimal("0.01"))
            for v in (verified, refunded, paid_out, in_flight, carried)
        ]
        verified, refunded, paid_out, in_flight, carried = values
        checks.append(
            {
                "recipient_id": recipient,
                "currency": currency,
                "verified": verified,
                "refunded": refunded,
                "paid_out": paid_out,
                "in_flight": in_flight,
                "carried_adjustments": carried,
                "drift": (verified - refunded) - (paid_out + in_flight + carried),
            }
        )
    return checks
