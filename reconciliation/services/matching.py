"""Matching provider report rows with payments: set-based SQL, no row loop in Python.

For a run over ``[start, end)`` (UTC bounds of the organisation's local dates):

1. The report rows in the window widened by the match tolerance (rows of an older report are
   superseded where a newer report of the same provider covers their time), read from the
   report rows themselves (no temporary copy). The payments: the organisation's payments of
   the providers those reports cover, verified (or, for unpaid ones, created) in the widened
   window. Each is read once, by the full join of step 3.
2. Duplicates (``recon_d``): a row whose key (order number, else provider reference) repeats;
   the first row of the key stays in play, the others are ``duplicate`` (they join nothing).
3. Pass 1: ONE hash full join of the rows and the payments on the order number, streamed
   straight into the lines (``bulk.insert_select``: the SELECT streamed back with ``COPY``;
   nothing of it is materialised): its pairs inside the run's window as their classified
   lines, and what it leaves as provisional lines (``LEFTOVER_ROW`` / ``LEFTOVER_PAYMENT``,
   usually few) which the next statements read back by id into ``recon_ur`` (rows) and
   ``recon_up`` (payments) and delete, in the same transaction: no one ever sees them.
4. The next passes match those: by provider reference, then (reports without our reference)
   the remaining rows and settled payments with the same provider, amount and currency whose
   times are within the organisation's window, a pair kept when each is the other's nearest
   (``recon_m``).
5. Pairs are classified (status, then amount, refunded amount, fee), the leftovers are
   ``missing_in_payops`` (rows) and ``missing_in_provider_report`` (settled payments); only what
   falls inside the run's own window is written, in one more set-based write.

The SQL is written once for PostgreSQL and SQLite; ``_seconds_apart``, ``_text``, ``_temp``
and ``_false`` hold the differences.
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
TEMP_TABLES = ("recon_d", "recon_m", "recon_ur", "recon_up")


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


# A report row's key for duplicates: its order number, else its reference, else itself.
ROW_KEY = """CASE WHEN rr.order_number <> '' THEN rr.order_number
    WHEN rr.provider_reference <> '' THEN 'ref:' || rr.provider_reference
    ELSE 'row:' || CAST(rr.id AS TEXT) END"""
PAYMENT_COLUMNS = """p.id, p.provider, p.order_number,
    upper(coalesce(p.provider_reference, '')) AS ref, p.amount, p.currency, p.status,
    p.refunded_amount, coalesce(p.verified_at, p.created_at) AS verified_at"""
# Provisional lines of pass 1 (never committed: read back and deleted by the same run).
LEFTOVER_ROW, LEFTOVER_PAYMENT = "pass1_left_row", "pass1_left_payment"


def _duplicate_keys(cursor, rows: str, params: list) -> int:
    """``recon_d``: (provider, key, the first row's id) of each key more than one row has."""
    cursor.execute(
        _temp("recon_d")
        + f"""SELECT provider, k, min(id) AS keep FROM ({rows}) r
        GROUP BY provider, k HAVING count(*) > 1""",
        params,
    )
    return cursor.rowcount


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
            session_memory(cursor)
            # JIT costs more than it saves here.
            cursor.execute("SET LOCAL jit = off")
            # The rows' key is an expression the planner has no statistics for: without this
            # it sorts a million text keys for a merge join where one hash join does
            # (BENCHMARKS.md).
            cursor.execute("SET LOCAL enable_mergejoin = off")
        # The report rows in scope, read from the report rows themselves (no temporary copy):
        # once by the duplicate keys' aggregate, once by the full join.
        rows = f"""SELECT rr.id, rep.provider, rr.order_number, rr.provider_reference AS ref,
                {ROW_KEY} AS k, rr.amount, rr.currency, rr.status, rr.paid_at,
                rr.refunded_amount, rr.fee
            FROM reconciliation_providerreportrow rr
            JOIN reconciliation_providerreport rep ON rep.id = rr.report_id
            WHERE {scope} AND rr.paid_at >= %s AND rr.paid_at < %s"""
        rows_params = [*scope_params, wlo, whi]
        duplicates = _duplicate_keys(cursor, rows, rows_params)
        # A row a duplicate key repeats (the first row of the key stays in play) joins nothing:
        # its order number is NULL for the join, so it comes out of it unpaired.
        if duplicates:  # usually none: then no join with recon_d at all
            rows = f"""SELECT r.*, (d.keep IS NOT NULL AND d.keep <> r.id) AS dup
                FROM ({rows}) r LEFT JOIN recon_d d ON d.provider = r.provider AND d.k = r.k"""
        else:
            rows = f"SELECT r.*, {_false()} AS dup FROM ({rows}) r"
        in_providers = ", ".join(["%s"] * len(providers))
        # The payments of the providers the reports cover, settled (or, unpaid, created) in
        # the widened window: read once, by the full join below (not copied first).
        payments = f"""SELECT {PAYMENT_COLUMNS}
            FROM payments_payment p
            WHERE p.organization_id = %s AND p.provider IN ({in_providers})
              AND ((p.status IN ({settled}) AND p.verified_at >= %s AND p.verified_at < %s)
                OR (p.status NOT IN ({settled}) AND p.created_at >= %s AND p.created_at < %s))"""
        payment_params = [org, *sorted(providers), wlo, whi, wlo, whi]
        # Pass 1, by order number, as ONE full join streamed straight into the items (nothing
        # materialised): its pairs inside the window as their lines, and what it leaves (rows,
        # payments: usually few) as provisional lines (LEFTOVER_ROW / LEFTOVER_PAYMENT) that
        # the next statements read back by id and delete, in this transaction.
        r_cols = ", ".join(f"r.{c} AS r_{c}" for c in R_COLUMNS)
        p_cols = ", ".join(f"p.{c} AS p_{c}" for c in P_COLUMNS)
        join = f"""SELECT r.id AS rid, p.id AS pid, 'order_number' AS how,
                p.provider AS p_provider, {r_cols}, {p_cols}
            FROM ({rows}) r
            FULL JOIN ({payments}) p
              ON p.order_number = CASE WHEN r.dup THEN NULL ELSE nullif(r.order_number, '') END
              AND p.provider = r.provider"""
        pairs = f"SELECT * FROM ({join}) j WHERE rid IS NULL OR pid IS NULL OR ({INSIDE_PAIR})"
        body, params = _classified(
            pairs, [*rows_params, *payment_params, lo, hi, lo, hi], fee_rates
        )
        sql, params = _items(run, body, params)
        written = insert_select(
            cursor,
            table="reconciliation_reconciliationitem",
            columns=ITEM_COLUMNS,
            select=sql,
            params=params,
        )
        cursor.execute(
            _temp("recon_ur")
            + f"""SELECT rr.id, (d.keep IS NOT NULL AND d.keep <> rr.id) AS dup, rep.provider,
                rr.order_number, rr.provider_reference AS ref, rr.amount, rr.currency,
                rr.status, rr.paid_at, rr.refunded_amount, rr.fee
            FROM reconciliation_reconciliationitem i
            JOIN reconciliation_providerreportrow rr ON rr.id = i.report_row_id
            JOIN reconciliation_providerreport rep ON rep.id = rr.report_id
            LEFT JOIN recon_d d ON d.provider = rep.provider AND d.k = {ROW_KEY}
            WHERE i.run_id = %s AND i.category = %s""",
            [run.pk, LEFTOVER_ROW],
        )
        cursor.execute(
            _temp("recon_up")
            + f"""SELECT {PAYMENT_COLUMNS}
            FROM reconciliation_reconciliationitem i
            JOIN payments_payment p ON p.id = i.payment_id
            WHERE i.run_id = %s AND i.category = %s""",
            [run.pk, LEFTOVER_PAYMENT],
        )
        cursor.execute(
            "DELETE FROM reconciliation_reconciliationitem WHERE run_id = %s AND category IN "
            "(%s, %s)",
            [run.pk, LEFTOVER_ROW, LEFTOVER_PAYMENT],
        )
        written -= cursor.rowcount
        cursor.execute(
            _temp("recon_m")
            + """SELECT r.id AS rid, min(p.id) AS pid, 'reference' AS how
            FROM recon_ur r JOIN recon_up p ON p.ref = r.ref AND p.provider = r.provider
            WHERE r.ref <> '' AND NOT r.dup
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
              WHERE p.status IN ({settled}) AND r.status <> 'declined' AND NOT r.dup
                AND {apart} <= %s
                AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.rid = r.id)
                AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.pid = p.id)
            ) c WHERE rn_r = 1 AND rn_p = 1""",
            [tolerance_seconds],
        )
        written += _write_rest(cursor, run, lo=lo, hi=hi, fee_rates=fee_rates)
        _drop(cursor)
    return providers, written


def _false() -> str:
    return "false" if connection.vendor == "postgresql" else "0"


def _fee_case(fee_rates: dict[str, Decimal]) -> tuple[str, list]:
    if not fee_rates:
        return "NULL", []
    whens, params = [], []
    for provider, rate in sorted(fee_rates.items()):
        whens.append("WHEN r_provider = %s THEN round(r_amount * %s / 100, 2)")
        params += [provider, str(Decimal(str(rate)))]
    return "CASE " + " ".join(whens) + " END", params


REPORT_STATUS = """CASE p_status WHEN 'verified' THEN 'paid'
    WHEN 'partially_refunded' THEN 'partially_refunded'
    WHEN 'refunded' THEN 'refunded' ELSE 'declined' END"""
PAIR_COLUMNS = (
    "rid, pid, how, p_provider, r_provider, r_order_number, r_ref, r_amount, r_currency, "
    "r_status, r_refunded_amount, r_fee, p_order_number, p_amount, p_currency, p_status, "
    "p_refunded_amount"
)
INSIDE_PAIR = "(r_paid_at >= %s AND r_paid_at < %s) OR (p_verified_at >= %s AND p_verified_at < %s)"


def _items(run, body: str, body_params: list) -> tuple[str, list]:
    """The ``ITEM_COLUMNS`` of the lines ``body`` selects (pid, rid, provider, order_number,
    ref, currency, how, category, field, expected, reported)."""
    texts = ("category", "field", "provider", "order_number", "ref", "currency", "expected")
    text = [f"CAST({c} AS TEXT)" for c in (*texts, "reported", "how")]
    sql = f"""SELECT CAST(%s AS BIGINT), {text[0]}, {text[1]}, CAST(pid AS BIGINT),
            CAST(rid AS BIGINT), {", ".join(text[2:])}
        FROM ({body}) items"""
    return sql, [run.pk, *body_params]


def _classified(pairs: str, pairs_params: list, fee_rates) -> tuple[str, list]:
    """The lines of the pairs ``pairs`` selects (``PAIR_COLUMNS``): status, then amount,
    refunded amount, fee."""
    expected_fee, fee_params = _fee_case(fee_rates)
    rs = REPORT_STATUS
    amounts_differ = "p_amount <> r_amount OR p_currency <> r_currency"
    fee_differs = f"{expected_fee} IS NOT NULL AND {expected_fee} <> r_fee"
    sql = f"""SELECT pid, rid, coalesce(r_provider, p_provider) AS provider,
            coalesce(p_order_number, r_order_number) AS order_number,
            coalesce(r_ref, '') AS ref, coalesce(p_currency, r_currency) AS currency, how,
            CASE
              WHEN rid IS NULL THEN '{LEFTOVER_PAYMENT}'
              WHEN pid IS NULL THEN '{LEFTOVER_ROW}'
              WHEN {rs} <> r_status THEN 'status_mismatch'
              WHEN {amounts_differ} THEN 'amount_mismatch'
              WHEN p_refunded_amount <> r_refunded_amount THEN 'amount_mismatch'
              WHEN {fee_differs} THEN 'amount_mismatch'
              ELSE 'matched' END AS category,
            CASE
              WHEN {rs} <> r_status THEN 'status'
              WHEN {amounts_differ} THEN 'amount'
              WHEN p_refunded_amount <> r_refunded_amount THEN 'refunded_amount'
              WHEN {fee_differs} THEN 'fee'
              ELSE '' END AS field,
            CASE
              WHEN {rs} <> r_status THEN {rs}
              WHEN {amounts_differ} THEN {_text("p_amount")} || ' ' || p_currency
              WHEN p_refunded_amount <> r_refunded_amount THEN {_text("p_refunded_amount")}
              WHEN {fee_differs} THEN {_text(expected_fee)}
              ELSE '' END AS expected,
            CASE
              WHEN {rs} <> r_status THEN r_status
              WHEN {amounts_differ} THEN {_text("r_amount")} || ' ' || r_currency
              WHEN p_refunded_amount <> r_refunded_amount THEN {_text("r_refunded_amount")}
              WHEN {fee_differs} THEN {_text("r_fee")}
              ELSE '' END AS reported
        FROM ({pairs}) pairs"""
    return sql, [*(fee_params * sql.count(expected_fee)), *pairs_params]


def _write_rest(cursor, run, *, lo, hi, fee_rates) -> int:
    """One write of the other lines: the pairs of the later passes, duplicates, and the rows
    and payments left over (inside the run's window)."""
    settled = ", ".join(f"'{s}'" for s in SETTLED)
    inside_r = "r.paid_at >= %s AND r.paid_at < %s"
    inside_p = "p.verified_at >= %s AND p.verified_at < %s"
    r_cols = ", ".join(f"r.{c} AS r_{c}" for c in R_COLUMNS)
    p_cols = ", ".join(f"p.{c} AS p_{c}" for c in P_COLUMNS)
    pairs = f"""SELECT {PAIR_COLUMNS} FROM (
          SELECT m.rid, m.pid, m.how, p.provider AS p_provider, {r_cols}, {p_cols}
          FROM recon_m m JOIN recon_ur r ON r.id = m.rid JOIN recon_up p ON p.id = m.pid
        ) m2 WHERE {INSIDE_PAIR}"""
    classified, params = _classified(pairs, [lo, hi, lo, hi], fee_rates)
    body = f"""{classified}
      UNION ALL
      SELECT NULL, r.id, r.provider, r.order_number, r.ref, r.currency, '',
        'duplicate', 'order_number', '', {_text("r.amount")} || ' ' || r.currency
      FROM recon_ur r
      WHERE r.dup AND {inside_r}
      UNION ALL
      SELECT NULL, r.id, r.provider, r.order_number, r.ref, r.currency, '',
        'missing_in_payops', '', '', {_text("r.amount")} || ' ' || r.currency
      FROM recon_ur r
      WHERE NOT r.dup AND r.status <> 'declined' AND {inside_r}
        AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.rid = r.id)
      UNION ALL
      SELECT p.id, NULL, p.provider, p.order_number, p.ref, p.currency, '',
        'missing_in_provider_report', '', {_text("p.amount")} || ' ' || p.currency, ''
      FROM recon_up p
      WHERE p.status IN ({settled}) AND {inside_p}
        AND NOT EXISTS (SELECT 1 FROM recon_m m WHERE m.pid = p.id)"""
    sql, params = _items(run, body, [*params, lo, hi, lo, hi, lo, hi])
    return insert_select(
        cursor,
        table="reconciliation_reconciliationitem",
        columns=ITEM_COLUMNS,
        select=sql,
        params=params,
    )
