"""Matching provider report rows with payments: set-based SQL, no row loop in Python.

For a run over ``[start, end)`` (UTC bounds of the organisation's local dates):

1. ``recon_r``: the report rows in the window widened by the match tolerance (rows of an older
   report are superseded where a newer report of the same provider covers their time). The
   payments: the organisation's payments of the providers those reports cover, verified (or,
   for unpaid ones, created) in the widened window (read once, by the full join of step 3).
2. Duplicates (``recon_d``): a row whose key (order number, else provider reference) repeats;
   the first row of the key stays in play, the others are ``duplicate``.
3. Pass 1: ONE hash full join of the rows and the payments on the order number (``recon_j``):
   its pairs are classified from it alone, and what it leaves (``recon_ur`` rows, ``recon_up``
   payments, usually few) goes on to the next passes: by provider reference, then (reports
   without our reference) the remaining rows and settled payments with the same provider,
   amount and currency whose times are within the organisation's window, a pair kept when each
   is the other's nearest (``recon_m``).
4. Pairs are classified (status, then amount, refunded amount, fee), the leftovers are
   ``missing_in_payops`` (rows) and ``missing_in_provider_report`` (settled payments); only what
   falls inside the run's own window is written, as ``ReconciliationItem`` rows, in one
   set-based write (``bulk.insert_select``: the SELECT streamed back with ``COPY``).

The SQL is written once for PostgreSQL and SQLite; ``_seconds_apart``, ``_text`` and ``_temp``
hold the differences.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from reconciliation.models import ProviderReport, ReconciliationRun
from reconciliation.services.bulk import insert_select, session_memory

ITEM_COLUMNS = ["run_id", "category", "field", "payment_id", "report_row_id", "provider"]
ITEM_COLUMNS += ["order_number", "provider_reference", "currency", "expected", "reported"]
ITEM_COLUMNS += ["matched_by"]
SETTLED = ("verified", "partially_refunded", "refunded")
TEMP_TABLES = ("recon_r", "recon_d", "recon_j", "recon_m", "recon_ur", "recon_up")


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


def report_row_scope(
    organization_id: int, lo: dt.datetime, hi: dt.datetime
) -> tuple[str, list, set[str]]:
    """SQL condition choosing report rows: per report, minus the times newer reports cover; and
    the providers of those reports."""
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
        return "1 = 0", [], set()
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
    return "(" + " OR ".join(parts) + ")", params, set(newer)


def _drop(cursor) -> None:
    for name in TEMP_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


# The columns a pair is classified from: the row's (r_) and the payment's (p_).
R_COLUMNS = ("provider", "order_number", "ref", "amount", "currency", "status", "paid_at")
R_COLUMNS += ("refunded_amount", "fee")
P_COLUMNS = ("order_number", "ref", "amount", "currency", "status", "refunded_amount")
P_COLUMNS += ("verified_at",)


def match_run(
    run: ReconciliationRun,
    *,
    lo: dt.datetime,
    hi: dt.datetime,
    tolerance_seconds: int,
    fee_rates: dict[str, Decimal],
) -> tuple[set[str], int]:
    """Write the run's items. ``lo``/``hi``: the UTC bounds of the run's local dates. Returns
    the providers whose report rows the run covered, and the number of items written."""
    widen = dt.timedelta(seconds=tolerance_seconds)
    wlo, whi = lo - widen, hi + widen
    org = run.organization_id
    scope, scope_params, providers = report_row_scope(org, wlo, whi)
    if not providers:
        return set(), 0
    settled = ", ".join(f"'{s}'" for s in SETTLED)
    apart = _seconds_apart("r.paid_at", "p.verified_at")
    with connection.cursor() as cursor:
        _drop(cursor)
        if connection.vendor == "postgresql":
            # Hash joins of a month's rows stay in memory, and the temporary tables too;
            # JIT costs more than it saves here.
            session_memory(cursor)
            cursor.execute("SET LOCAL jit = off")
            # The temporary tables have no statistics: without this the planner sorts a
            # million text keys for a merge join where one hash join does (BENCHMARKS.md).
            cursor.execute("SET LOCAL enable_mergejoin = off")
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
        duplicates = cursor.rowcount
        in_providers = ", ".join(["%s"] * len(providers))
        # The payments of the providers the reports cover, settled (or, unpaid, created) in
        # the widened window: read once, by the full join below (not copied first).
        payments = f"""SELECT p.id, p.provider, p.order_number,
                upper(coalesce(p.provider_reference, '')) AS ref, p.amount, p.currency,
                p.status, p.refunded_amount, coalesce(p.verified_at, p.created_at) AS verified_at
            FROM payments_payment p
            WHERE p.organization_id = %s AND p.provider IN ({in_providers})
              AND ((p.status IN ({settled}) AND p.verified_at >= %s AND p.verified_at < %s)
                OR (p.status NOT IN ({settled}) AND p.created_at >= %s AND p.created_at < %s))"""
        payment_params = [org, *sorted(providers), wlo, whi, wlo, whi]
        # Pass 1, by order number, as ONE full join: its pairs are classified from this table
        # alone, and what it leaves (rows, payments) goes on to the next passes. The rows a
        # duplicate key repeats stay out (the first row of the key stays in play).
        r_cols = ", ".join(f"r.{c} AS r_{c}" for c in R_COLUMNS)
        p_cols = ", ".join(f"p.{c} AS p_{c}" for c in P_COLUMNS)
        kept = "recon_r r"
        if duplicates:  # usually none: then no filter at all
            if connection.vendor == "postgresql":
                # Statistics, so that many duplicates are hashed, never looped over every row.
                cursor.execute("ANALYZE recon_d")
                cursor.execute("ANALYZE recon_r")
            kept += """ WHERE NOT EXISTS (SELECT 1 FROM recon_d d
                WHERE d.provider = r.provider AND d.k = r.k AND d.keep <> r.id)"""
        cursor.execute(
            _temp("recon_j")
            + f"""SELECT r.id AS rid, p.id AS pid, p.provider AS p_provider, {r_cols}, {p_cols}
            FROM (SELECT r.* FROM {kept}) r
            FULL JOIN ({payments}) p
              ON p.order_number = nullif(r.order_number, '') AND p.provider = r.provider""",
            payment_params,
        )
        # What pass 1 left: usually few rows, so the next passes join small sets.
        r_back = ", ".join(f"r_{c} AS {c}" for c in R_COLUMNS)
        p_back = ", ".join(f"p_{c} AS {c}" for c in P_COLUMNS)
        cursor.execute(
            _temp("recon_ur") + f"SELECT rid AS id, {r_back} FROM recon_j WHERE pid IS NULL"
        )
        cursor.execute(
            _temp("recon_up")
            + f"""SELECT pid AS id, p_provider AS provider, {p_back} FROM recon_j
            WHERE rid IS NULL"""
        )
        cursor.execute(
            _temp("recon_m")
            + """SELECT r.id AS rid, min(p.id) AS pid, 'reference' AS how
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
        written = _write_items(cursor, run, lo=lo, hi=hi, fee_rates=fee_rates)
        _drop(cursor)
    return providers, written


def _fee_case(fee_rates: dict[str, Decimal]) -> tuple[str, list]:
    if not fee_rates:
        return "NULL", []
    whens, params = [], []
    for provider, rate in sorted(fee_rates.items()):
        whens.append("WHEN r_provider = %s THEN round(r_amount * %s / 100, 2)")
        params += [provider, str(Decimal(str(rate)))]
    return "CASE " + " ".join(whens) + " END", params


def _write_items(cursor, run, *, lo, hi, fee_rates) -> int:
    """One set-based write of the run's lines (``bulk.insert_select``): the pairs of pass 1
    (from ``recon_j``, no join), the pairs of the later passes, duplicates, and the rows and
    payments left over."""
    settled = ", ".join(f"'{s}'" for s in SETTLED)
    expected_fee, fee_params = _fee_case(fee_rates)
    report_status = """CASE p_status WHEN 'verified' THEN 'paid'
        WHEN 'partially_refunded' THEN 'partially_refunded'
        WHEN 'refunded' THEN 'refunded' ELSE 'declined' END"""
    inside_r = "r.paid_at >= %s AND r.paid_at < %s"
    inside_p = "p.verified_at >= %s AND p.verified_at < %s"
    inside_pair = (
        "(r_paid_at >= %s AND r_paid_at < %s) OR (p_verified_at >= %s AND p_verified_at < %s)"
    )
    r_cols = ", ".join(f"r.{c} AS r_{c}" for c in R_COLUMNS)
    p_cols = ", ".join(f"p.{c} AS p_{c}" for c in P_COLUMNS)
    pair_cols = (
        "rid, pid, how, r_provider, r_ref, r_amount, r_currency, r_status, r_refunded_amount, "
        "r_fee, p_order_number, p_amount, p_currency, p_status, p_refunded_amount"
    )
    amounts_differ = "p_amount <> r_amount OR p_currency <> r_currency"
    fee_differs = f"{expected_fee} IS NOT NULL AND {expected_fee} <> r_fee"
    texts = ("category", "field", "provider", "order_number", "ref", "currency", "expected")
    text = [f"CAST({c} AS TEXT)" for c in (*texts, "reported", "how")]
    sql = f"""SELECT CAST(%s AS BIGINT), {text[0]}, {text[1]}, CAST(pid AS BIGINT),
            CAST(rid AS BIGINT), {", ".join(text[2:])}
        FROM (
          SELECT pid, rid, r_provider AS provider, p_order_number AS order_number,
            r_ref AS ref, p_currency AS currency, how,
            CASE
              WHEN {report_status} <> r_status THEN 'status_mismatch'
              WHEN {amounts_differ} THEN 'amount_mismatch'
              WHEN p_refunded_amount <> r_refunded_amount THEN 'amount_mismatch'
              WHEN {fee_differs} THEN 'amount_mismatch'
              ELSE 'matched' END AS category,
            CASE
              WHEN {report_status} <> r_status THEN 'status'
              WHEN {amounts_differ} THEN 'amount'
              WHEN p_refunded_amount <> r_refunded_amount THEN 'refunded_amount'
              WHEN {fee_differs} THEN 'fee'
              ELSE '' END AS field,
            CASE
              WHEN {report_status} <> r_status THEN {report_status}
              WHEN {amounts_differ} THEN {_text("p_amount")} || ' ' || p_currency
              WHEN p_refunded_amount <> r_refunded_amount THEN {_text("p_refunded_amount")}
              WHEN {fee_differs} THEN {_text(expected_fee)}
              ELSE '' END AS expected,
            CASE
              WHEN {report_status} <> r_status THEN r_status
              WHEN {amounts_differ} THEN {_text("r_amount")} || ' ' || r_currency
              WHEN p_refunded_amount <> r_refunded_amount THEN {_text("r_refunded_amount")}
              WHEN {fee_differs} THEN {_text("r_fee")}
              ELSE '' END AS reported
          FROM (
            SELECT {pair_cols} FROM (
              SELECT *, 'order_number' AS how FROM recon_j
              WHERE rid IS NOT NULL AND pid IS NOT NULL AND ({inside_pair})) j
            UNION ALL
            SELECT {pair_cols} FROM (
              SELECT m.rid, m.pid, m.how, {r_cols}, {p_cols}
              FROM recon_m m JOIN recon_ur r ON r.id = m.rid JOIN recon_up p ON p.id = m.pid
            ) m2 WHERE {inside_pair}
          ) pairs
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
    window = [lo, hi, lo, hi]
    return insert_select(
        cursor,
        table="reconciliation_reconciliationitem",
        columns=ITEM_COLUMNS,
        select=sql,
        params=[
            run.pk,
            *(fee_params * sql.count(expected_fee)),
            *window,  # pass 1 pairs
            *window,  # later pairs
            lo,
            hi,  # duplicate
            lo,
            hi,  # missing_in_payops
            lo,
            hi,  # missing_in_provider_report
        ],
    )
