"""Matching provider report rows with payments: set-based SQL, no row loop in Python.

For a run over ``[start, end)`` (UTC bounds of the organisation's local dates):

1. ``recon_r``: the report rows in the window widened by the match tolerance (rows of an older
   report are superseded where a newer report of the same provider covers their time);
   ``recon_p``: the organisation's payments of the providers those rows cover, verified (or,
   for unpaid ones, created) in the widened window.
2. Duplicates: a row whose key (order number, else provider reference) repeats; the first row
   of the key stays in play, the others are ``duplicate``.
3. Pass 1: rows and payments joined on the order number, then on the provider reference.
   Pass 2 (reports without our reference): the remaining rows and settled payments with the same
   provider, amount and currency whose times are within the organisation's window; a pair is
   kept when each is the other's nearest.
4. Pairs are classified (status, then amount, refunded amount, fee), the leftovers are
   ``missing_in_payops`` (rows) and ``missing_in_provider_report`` (settled payments); only what
   falls inside the run's own window is written, as ``ReconciliationItem`` rows with one
   ``INSERT ... SELECT``.

The SQL is written once for PostgreSQL and SQLite; ``_dialect`` holds the two differences.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from reconciliation.models import ProviderReport, ReconciliationRun

SETTLED = ("verified", "partially_refunded", "refunded")
TEMP_TABLES = ("recon_r", "recon_d", "recon_p", "recon_m", "recon_ur", "recon_up")


def _seconds_apart(a: str, b: str) -> str:
    if connection.vendor == "postgresql":
        return f"abs(extract(epoch from ({a} - {b})))"
    return f"abs(julianday({a}) - julianday({b})) * 86400"


def _text(expr: str) -> str:
    """A money expression as text with its two places, on both databases."""
    if connection.vendor == "postgresql":
        return f"CAST({expr} AS TEXT)"
    return f"printf('%%.2f', {expr})"


def _temp(name: str) -> str:
    if connection.vendor == "postgresql":
        return f"CREATE TEMP TABLE {name} ON COMMIT DROP AS "
    return f"CREATE TEMP TABLE {name} AS "


def _row_scope(organization_id: int, lo: dt.datetime, hi: dt.datetime) -> tuple[str, list]:
    """SQL condition choosing report rows: per report, minus the times newer reports cover."""
    reports = list(
        ProviderReport.objects.filter(
            organization_id=organization_id,
            status=ProviderReport.Status.IMPORTED,
            first_paid_at__lt=hi,
            last_paid_at__gte=lo,
        )
        .order_by("-id")
        .values("id", "provider", "first_paid_at", "last_paid_at")
    )
    if not reports:
        return "1 = 0", []
    parts, params = [], []
    newer: dict[str, list[tuple]] = {}
    for report in reports:
        condition = "rr.report_id = %s"
        args: list = [report["id"]]
        for first, last in newer.get(report["provider"], []):
            condition += " AND NOT (rr.paid_at >= %s AND rr.paid_at <= %s)"
            args += [first, last]
        parts.append(f"({condition})")
        params += args
        newer.setdefault(report["provider"], []).append(
            (report["first_paid_at"], report["last_paid_at"])
        )
    return "(" + " OR ".join(parts) + ")", params


def _drop(cursor) -> None:
    for name in TEMP_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


def match_run(
    run: ReconciliationRun,
    *,
    lo: dt.datetime,
    hi: dt.datetime,
    tolerance_seconds: int,
    fee_rates: dict[str, Decimal],
) -> None:
    """Write the run's items. ``lo``/``hi``: the UTC bounds of the run's local dates."""
    widen = dt.timedelta(seconds=tolerance_seconds)
    wlo, whi = lo - widen, hi + widen
    org = run.organization_id
    scope, scope_params = _row_scope(org, wlo, whi)
    settled = ", ".join(f"'{s}'" for s in SETTLED)
    apart = _seconds_apart("r.paid_at", "p.verified_at")
    with connection.cursor() as cursor:
        _drop(cursor)
        if connection.vendor == "postgresql":
            # Hash joins of a month's rows stay in memory; JIT costs more than it saves here.
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            _temp("recon_r")
            + f"""SELECT rr.id, rep.provider, rr.order_number, rr.provider_reference AS ref,
                CASE WHEN rr.order_number <> '' THEN rr.order_number
                     WHEN rr.provider_reference <> '' THEN 'ref:' || rr.provider_reference
                     ELSE 'row:' || CAST(rr.id AS TEXT) END AS k,
                rr.amount, rr.currency, rr.status, rr.paid_at, rr.refunded_amount, rr.fee
            FROM reconciliation_providerreportrow rr
            JOIN reconciliation_providerreport rep ON rep.id = rr.report_id
            WHERE {scope} AND rr.paid_at >= %s AND rr.paid_at < %s""",
            [*scope_params, wlo, whi],
        )
        cursor.execute(
            _temp("recon_d")
            + """SELECT provider, k, min(id) AS keep FROM recon_r
            GROUP BY provider, k HAVING count(*) > 1"""
        )
        cursor.execute(
            _temp("recon_p")
            + f"""SELECT p.id, p.provider, p.order_number,
                upper(coalesce(p.provider_reference, '')) AS ref, p.amount, p.currency,
                p.status, p.refunded_amount, coalesce(p.verified_at, p.created_at) AS verified_at
            FROM payments_payment p
            WHERE p.organization_id = %s
              AND p.provider IN (SELECT DISTINCT provider FROM recon_r)
              AND ((p.status IN ({settled}) AND p.verified_at >= %s AND p.verified_at < %s)
                OR (p.status NOT IN ({settled}) AND p.created_at >= %s AND p.created_at < %s))""",
            [org, wlo, whi, wlo, whi],
        )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE recon_r")
            cursor.execute("ANALYZE recon_p")
        # Pass 1: by order number (the provider reference and the time window come next).
        cursor.execute(
            _temp("recon_m")
            + """SELECT r.id AS rid, p.id AS pid, 'order_number' AS how
            FROM recon_r r JOIN recon_p p
              ON p.order_number = r.order_number AND p.provider = r.provider
            LEFT JOIN recon_d d ON d.provider = r.provider AND d.k = r.k
            WHERE r.order_number <> '' AND (d.keep IS NULL OR d.keep = r.id)"""
        )
        if connection.vendor == "postgresql":
            cursor.execute("CREATE INDEX ON recon_m (rid)")
            cursor.execute("CREATE INDEX ON recon_m (pid)")
            cursor.execute("ANALYZE recon_m")
            cursor.execute("ANALYZE recon_d")
        # What pass 1 left: usually few rows, so the next passes join small sets.
        cursor.execute(
            _temp("recon_ur")
            + """SELECT r.* FROM recon_r r
            LEFT JOIN recon_d d ON d.provider = r.provider AND d.k = r.k
            WHERE (d.keep IS NULL OR d.keep = r.id)
              AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.rid = r.id)"""
        )
        cursor.execute(
            _temp("recon_up")
            + """SELECT p.* FROM recon_p p
            WHERE NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.pid = p.id)"""
        )
        cursor.execute(
            """INSERT INTO recon_m (rid, pid, how)
            SELECT r.id, min(p.id), 'reference'
            FROM recon_ur r JOIN recon_up p ON p.ref = r.ref AND p.provider = r.provider
            WHERE r.ref <> ''
            GROUP BY r.id"""
        )
        # Pass 2: amount, currency and time, mutual nearest.
        cursor.execute(
            f"""INSERT INTO recon_m (rid, pid, how)
            SELECT rid, pid, 'time_window' FROM (
              SELECT r.id AS rid, p.id AS pid,
                row_number() OVER (PARTITION BY r.id ORDER BY {apart}, p.id) AS rn_r,
                row_number() OVER (PARTITION BY p.id ORDER BY {apart}, r.id) AS rn_p
              FROM recon_ur r JOIN recon_up p
                ON p.provider = r.provider AND p.amount = r.amount AND p.currency = r.currency
              WHERE p.status IN ({settled}) AND r.status <> 'declined'
                AND {apart} <= %s
                AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.rid = r.id)
                AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.pid = p.id)
            ) c WHERE rn_r = 1 AND rn_p = 1""",
            [tolerance_seconds],
        )
        _write_items(cursor, run, lo=lo, hi=hi, fee_rates=fee_rates)
        _drop(cursor)


def _fee_case(fee_rates: dict[str, Decimal]) -> tuple[str, list]:
    if not fee_rates:
        return "NULL", []
    whens, params = [], []
    for provider, rate in sorted(fee_rates.items()):
        whens.append("WHEN r.provider = %s THEN round(r.amount * %s / 100, 2)")
        params += [provider, str(Decimal(str(rate)))]
    return "CASE " + " ".join(whens) + " END", params


def _write_items(cursor, run, *, lo, hi, fee_rates) -> None:
    settled = ", ".join(f"'{s}'" for s in SETTLED)
    expected_fee, fee_params = _fee_case(fee_rates)
    report_status = """CASE p.status WHEN 'verified' THEN 'paid'
        WHEN 'partially_refunded' THEN 'partially_refunded'
        WHEN 'refunded' THEN 'refunded' ELSE 'declined' END"""
    columns = """(run_id, category, field, payment_id, report_row_id, provider, order_number,
        provider_reference, currency, expected, reported, matched_by)"""
    inside_r = "r.paid_at >= %s AND r.paid_at < %s"
    inside_p = "p.verified_at >= %s AND p.verified_at < %s"
    sql = f"""INSERT INTO reconciliation_reconciliationitem {columns}
        SELECT %s, category, field, pid, rid, provider, order_number, ref, currency,
            expected, reported, how
        FROM (
          SELECT p.id AS pid, r.id AS rid, r.provider, p.order_number, r.ref, p.currency, m.how,
            CASE
              WHEN {report_status} <> r.status THEN 'status_mismatch'
              WHEN p.amount <> r.amount OR p.currency <> r.currency THEN 'amount_mismatch'
              WHEN p.refunded_amount <> r.refunded_amount THEN 'amount_mismatch'
              WHEN {expected_fee} IS NOT NULL AND {expected_fee} <> r.fee THEN 'amount_mismatch'
              ELSE 'matched' END AS category,
            CASE
              WHEN {report_status} <> r.status THEN 'status'
              WHEN p.amount <> r.amount OR p.currency <> r.currency THEN 'amount'
              WHEN p.refunded_amount <> r.refunded_amount THEN 'refunded_amount'
              WHEN {expected_fee} IS NOT NULL AND {expected_fee} <> r.fee THEN 'fee'
              ELSE '' END AS field,
            CASE
              WHEN {report_status} <> r.status THEN {report_status}
              WHEN p.amount <> r.amount OR p.currency <> r.currency
                THEN {_text("p.amount")} || ' ' || p.currency
              WHEN p.refunded_amount <> r.refunded_amount THEN {_text("p.refunded_amount")}
              WHEN {expected_fee} IS NOT NULL AND {expected_fee} <> r.fee
                THEN {_text(expected_fee)}
              ELSE '' END AS expected,
            CASE
              WHEN {report_status} <> r.status THEN r.status
              WHEN p.amount <> r.amount OR p.currency <> r.currency
                THEN {_text("r.amount")} || ' ' || r.currency
              WHEN p.refunded_amount <> r.refunded_amount THEN {_text("r.refunded_amount")}
              WHEN {expected_fee} IS NOT NULL AND {expected_fee} <> r.fee
                THEN {_text("r.fee")}
              ELSE '' END AS reported
          FROM recon_m m JOIN recon_r r ON r.id = m.rid JOIN recon_p p ON p.id = m.pid
          WHERE ({inside_r}) OR ({inside_p})
          UNION ALL
          SELECT NULL, r.id, r.provider, r.order_number, r.ref, r.currency, '',
            'duplicate', 'order_number', '', {_text("r.amount")} || ' ' || r.currency
          FROM recon_r r JOIN recon_d d ON d.provider = r.provider AND d.k = r.k
          WHERE r.id <> d.keep AND {inside_r}
          UNION ALL
          SELECT NULL, r.id, r.provider, r.order_number, r.ref, r.currency, '',
            'missing_in_payops', '', '', {_text("r.amount")} || ' ' || r.currency
          FROM recon_ur r
          WHERE r.status <> 'declined' AND {inside_r}
            AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.rid = r.id)
          UNION ALL
          SELECT p.id, NULL, p.provider, p.order_number, p.ref, p.currency, '',
            'missing_in_provider_report', '', {_text("p.amount")} || ' ' || p.currency, ''
          FROM recon_up p
          WHERE p.status IN ({settled}) AND {inside_p}
            AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.pid = p.id)
        ) items"""
    cursor.execute(
        sql,
        [
            run.pk,
            *(fee_params * sql.count(expected_fee)),
            lo,
            hi,
            lo,
            hi,  # matched
            lo,
            hi,  # duplicate
            lo,
            hi,  # missing_in_payops
            lo,
            hi,  # missing_in_provider_report
        ],
    )
