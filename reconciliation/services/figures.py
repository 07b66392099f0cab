"""Per-period figures and the money self-check, in SQL.

Figures of ``[lo, hi)`` per currency (``period_figures``):

- ``expected``: payments created in the period that are, or may still become, money (pending
  and settled);
- ``verified``: payments verified in the period (settled statuses);
- ``refunded``: refunds that succeeded in the period;
- ``fees``: the fee of the payouts completed in the period (``gross = fee + net``);
- ``provider_fees``: the fees the provider reports list for rows of the period (a row a newer
  report of the same provider covers is counted from that report only, as the matching does);
- ``paid_out``: the gross of the payouts completed in the period;
- ``in_flight``: the gross of the payouts requested or processing, created in the period;
- ``adjustments``: the late changes booked in the period (``PeriodAdjustment``, signed).

The money self-check (``money_self_check``), per recipient and currency, over the QR payments
verified in the period:

    verified - refunded = paid out + in flight + carried adjustments

where paid out is the sum of the payments' active lines in completed payouts, in flight the
lines in requested or processing payouts plus what is not in any payout yet
(``amount - refunded``), and carried adjustments the payouts' non-voided ``PayoutAdjustment``
rows of those payments (negative). Any difference, to the luma, is drift.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from reconciliation.services.matching import report_row_scope

SETTLED = "('verified', 'partially_refunded', 'refunded')"


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _add(figures: dict, name: str, rows: list[tuple]) -> None:
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


def period_figures(
    *, organization_id: int, lo: dt.datetime, hi: dt.datetime, start: dt.date, end: dt.date
) -> dict[str, dict[str, str]]:
    """Figures per currency (decimal strings), every name present for every currency seen."""
    figures: dict[str, dict[str, str]] = {}
    org = organization_id
    _add(
        figures,
        "expected",
        _rows(
            "SELECT currency, sum(amount) FROM payments_payment WHERE organization_id = %s "
            "AND created_at >= %s AND created_at < %s "
            "AND status NOT IN ('declined', 'expired') GROUP BY currency",
            [org, lo, hi],
        ),
    )
    _add(
        figures,
        "verified",
        _rows(
            "SELECT currency, sum(amount) FROM payments_payment WHERE organization_id = %s "
            f"AND verified_at >= %s AND verified_at < %s AND status IN {SETTLED} GROUP BY currency",
            [org, lo, hi],
        ),
    )
    _add(
        figures,
        "refunded",
        _rows(
            "SELECT currency, sum(amount) FROM payments_refund WHERE organization_id = %s "
            "AND status = 'succeeded' AND completed_at >= %s AND completed_at < %s "
            "GROUP BY currency",
            [org, lo, hi],
        ),
    )
    _add(
        figures,
        "fees",
        _rows(
            "SELECT currency, sum(fee) FROM payouts_payout WHERE organization_id = %s "
            "AND status = 'completed' AND completed_at >= %s AND completed_at < %s "
            "GROUP BY currency",
            [org, lo, hi],
        ),
    )
    _add(
        figures,
        "paid_out",
        _rows(
            "SELECT currency, sum(gross) FROM payouts_payout WHERE organization_id = %s "
            "AND status = 'completed' AND completed_at >= %s AND completed_at < %s "
            "GROUP BY currency",
            [org, lo, hi],
        ),
    )
    _add(
        figures,
        "in_flight",
        _rows(
            "SELECT currency, sum(gross) FROM payouts_payout WHERE organization_id = %s "
            "AND status IN ('requested', 'processing') AND created_at >= %s AND created_at < %s "
            "GROUP BY currency",
            [org, lo, hi],
        ),
    )
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
        _rows(
            "SELECT currency, sum(amount) FROM reconciliation_periodadjustment "
            "WHERE organization_id = %s AND booked_on >= %s AND booked_on <= %s GROUP BY currency",
            [org, start, end],
        ),
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
