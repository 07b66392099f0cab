"""Benchmark: a large provider report, file to persisted results, against the raw psql floor.

Run against a scratch PostgreSQL database (it creates its own organisation and rows):

    createdb -h 127.0.0.1 -U postgres payops_bench
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/payops_bench \\
        .venv/bin/python manage.py migrate -v0
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/payops_bench \\
        .venv/bin/python benchmarks/reconciliation.py --rows 200000

It inserts ``--rows`` verified payments of one month directly (benchmark data, not a business
path), writes a payops CSV report of the same payments (with a few planted problems: a missing
row, an unknown row, an amount and a status mismatch, a duplicate), then measures, in the same
run and on the same machine:

- the floor: ``psql`` doing ``\\copy`` of the file into a table of text columns plus one full
  join of it with the payments on the order number;
- payops: ``provider_report_import`` (hash, COPY into staging, SQL validation, typed rows) plus
  ``reconciliation_run`` over the month (matching, one line per payment and row, counts,
  figures, self-check, exception cases), as the command and the nightly run do.

It prints both times and their ratio, and checks that exactly the planted problems were found.
It also times the *required work* in raw SQL (``REQUIRED_SQL``: the floor plus persisting the
typed rows and one line per pair, each with a primary key) and prints payops against it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from core.actors import system_actor  # noqa: E402
from core.models import Branch, Organization  # noqa: E402
from reconciliation.services import provider_report_import, reconciliation_run  # noqa: E402

START = dt.date(2026, 10, 1)
END = dt.date(2026, 10, 31)


def insert_payments(organization: Organization, branch: Branch, rows: int, prefix: str) -> None:
    """``rows`` verified arca payments spread over October (local time), one statement."""
    seconds = int((END - START).days + 1) * 86400 - 3600
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO payments_payment (provider, order_number, provider_reference, purpose,
                description, amount, currency, status, refunded_amount, verified_at,
                verification_method, masked_pan, approval_code, rrn, action_code,
                action_description, binding_id, payment_url, check_attempts, last_check_error,
                created_at, updated_at, branch_id, organization_id)
            SELECT 'arca', %s || i, 'R' || %s || i, 'qr', '', 100 + (i %% 9000), 'AMD',
                'verified', 0, %s + make_interval(secs => (i::bigint * 7919) %% %s), 'lookup',
                '', '', '', '', '', '', '', 0, '',
                %s + make_interval(secs => (i::bigint * 7919) %% %s), now(), %s, %s
            FROM generate_series(1, %s) AS i""",
            [
                prefix,
                prefix,
                _start(organization),
                seconds,
                _start(organization),
                seconds,
                branch.pk,
                organization.pk,
                rows,
            ],
        )
        cursor.execute("ANALYZE payments_payment")


def _start(organization: Organization) -> dt.datetime:
    return dt.datetime.combine(START, dt.time(0, 30), tzinfo=organization.tz)


def write_report(path: Path, prefix: str, rows: int, organization: Organization) -> None:
    """The report of the payments, with the planted problems."""
    seconds = int((END - START).days + 1) * 86400 - 3600
    start = _start(organization)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "order_number",
                "provider_reference",
                "amount",
                "currency",
                "status",
                "paid_at",
                "refunded_amount",
                "fee",
            ]
        )
        for i in range(1, rows + 1):
            if i == 1:
                continue  # missing in the provider report
            amount = 100 + (i % 9000)
            status = "paid"
            if i == 2:
                amount += 1  # amount mismatch
            if i == 3:
                status = "declined"  # status mismatch
            paid_at = start + dt.timedelta(seconds=(i * 7919) % seconds)
            row = [
                f"{prefix}{i}",
                f"R{prefix}{i}",
                f"{amount}.00",
                "AMD",
                status,
                paid_at.isoformat(),
                "0.00",
                "0.00",
            ]
            writer.writerow(row)
            if i == 4:
                writer.writerow(row)  # duplicate
        writer.writerow([f"{prefix}X", "", "5.00", "AMD", "paid", start.isoformat(), "0", "0"])


def psql_floor(path: Path) -> float:
    """Seconds for ``\\copy`` of the file plus one full join, in one psql session."""
    started = time.perf_counter()
    _psql(
        [
            "CREATE TEMP TABLE floor_stage (order_number text, provider_reference text, "
            "amount text, currency text, status text, paid_at text, refunded_amount text, "
            "fee text)",
            f"\\copy floor_stage FROM '{path}' WITH (FORMAT csv, HEADER)",
            "SELECT count(*) FROM floor_stage s FULL JOIN payments_payment p "
            "ON p.order_number = s.order_number",
        ]
    )
    return time.perf_counter() - started


def _psql(statements: list[str]) -> None:
    """Run ``statements`` in one psql session (each a ``-c``), stopping at the first error."""
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    command = [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        settings.get("HOST") or "127.0.0.1",
        "-p",
        str(settings.get("PORT") or 5432),
        "-U",
        settings.get("USER") or "postgres",
        "-d",
        settings["NAME"],
    ]
    for sql in statements:
        command += ["-c", sql]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)  # noqa: S603


# What the issue asks for beyond the floor, done the cheapest way in raw SQL: the report's rows
# typed (the four casts) and written to a durable table with a primary key, and one durable line
# per pair of the full join, classified (status, amount), with its primary key. No validation
# rule, no raw text, no duplicate detection, no figures, no exception cases: a lower bound of
# "file to persisted results" that persists both (BENCHMARKS.md).
REQUIRED_SQL = [
    "CREATE TEMP TABLE floor_stage (n integer GENERATED ALWAYS AS IDENTITY, order_number text, "
    "provider_reference text, amount text, currency text, status text, paid_at text, "
    "refunded_amount text, fee text)",
    "\\copy floor_stage (order_number, provider_reference, amount, currency, status, paid_at, "
    "refunded_amount, fee) FROM '{path}' WITH (FORMAT csv, HEADER)",
    "DROP TABLE IF EXISTS floor_rows, floor_lines",
    "BEGIN",
    "CREATE TABLE floor_rows (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "line_no integer NOT NULL, order_number text NOT NULL, provider_reference text NOT NULL, "
    "amount numeric(20,2) NOT NULL, currency text NOT NULL, status text NOT NULL, "
    "paid_at timestamptz NOT NULL, refunded_amount numeric(20,2) NOT NULL, "
    "fee numeric(20,2) NOT NULL)",
    "INSERT INTO floor_rows (line_no, order_number, provider_reference, amount, currency, "
    "status, paid_at, refunded_amount, fee) SELECT n + 1, order_number, "
    "coalesce(provider_reference, ''), "
    "amount::numeric, currency, status, paid_at::timestamptz, refunded_amount::numeric, "
    "fee::numeric FROM floor_stage",
    "CREATE TABLE floor_lines (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "payment_id bigint, row_id bigint, category text NOT NULL)",
    "INSERT INTO floor_lines (payment_id, row_id, category) SELECT p.id, r.id, CASE "
    "WHEN p.id IS NULL THEN 'missing_in_payops' WHEN r.id IS NULL "
    "THEN 'missing_in_provider_report' WHEN r.status <> 'paid' THEN 'status_mismatch' "
    "WHEN r.amount <> p.amount THEN 'amount_mismatch' ELSE 'matched' END "
    "FROM floor_rows r FULL JOIN (SELECT * FROM payments_payment "
    "WHERE organization_id = {organization}) p ON p.order_number = r.order_number",
    "COMMIT",
    "DROP TABLE floor_rows, floor_lines",
]


def psql_required(path: Path, organization: Organization) -> float:
    """Seconds for the required work (``REQUIRED_SQL``) in one psql session."""
    started = time.perf_counter()
    _psql([sql.format(path=path, organization=organization.pk) for sql in REQUIRED_SQL])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("This benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    actor = system_actor("benchmark")
    slug = f"bench-{int(time.time())}"
    organization = Organization.objects.create(slug=slug, name="Benchmark")
    branch = Branch.objects.create(organization=organization, code="main", name="Main")
    prefix = f"B{int(time.time()) % 100000}-"
    started = time.perf_counter()
    insert_payments(organization, branch, args.rows, prefix)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.csv"
        write_report(path, prefix, args.rows, organization)
        size = path.stat().st_size
        print(
            f"setup: {args.rows:,} payments and a {size / 1e6:.1f} MB report in "
            f"{time.perf_counter() - started:.1f} s"
        )
        floor = psql_floor(path)
        started = time.perf_counter()
        with path.open("rb") as handle:
            report = provider_report_import(
                organization=organization,
                provider="arca",
                file=handle,
                actor=actor,
                file_name=path.name,
            )
        imported = time.perf_counter() - started
        started = time.perf_counter()
        run = reconciliation_run(organization=organization, start=START, end=END, actor=actor)
        matched = time.perf_counter() - started
        floor_again = psql_floor(path)
        required = psql_required(path, organization)
    floor = min(floor, floor_again)
    ours = imported + matched
    print(f"psql floor (\\copy + one full join): {floor:.2f} s (best of two)")
    print(
        f"payops: import {imported:.2f} s ({report.rows_total:,} rows) + "
        f"reconcile {matched:.2f} s = {ours:.2f} s"
    )
    print(f"ratio: {ours / floor:.2f}x (target <= 1.5x)")
    print(
        f"required work in raw SQL (typed rows and lines persisted): {required:.2f} s, "
        f"{required / floor:.2f}x the floor; payops {ours / required:.2f}x it"
    )
    print(f"counts: {run.counts}")
    expected = {
        "matched": args.rows - 3,
        "missing_in_provider_report": 1,
        "missing_in_payops": 1,
        "amount_mismatch": 1,
        "status_mismatch": 1,
        "duplicate": 1,
    }
    if run.counts != expected:
        sys.exit(f"unexpected counts, wanted {expected}")


if __name__ == "__main__":
    main()
