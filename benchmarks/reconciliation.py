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
        "-c",
        "CREATE TEMP TABLE floor_stage (order_number text, provider_reference text, "
        "amount text, currency text, status text, paid_at text, refunded_amount text, fee text)",
        "-c",
        f"\\copy floor_stage FROM '{path}' WITH (FORMAT csv, HEADER)",
        "-c",
        "SELECT count(*) FROM floor_stage s FULL JOIN payments_payment p "
        "ON p.order_number = s.order_number",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
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
    floor = min(floor, floor_again)
    ours = imported + matched
    print(f"psql floor (\\copy + one full join): {floor:.2f} s (best of two)")
    print(
        f"payops: import {imported:.2f} s ({report.rows_total:,} rows) + "
        f"reconcile {matched:.2f} s = {ours:.2f} s"
    )
    print(f"ratio: {ours / floor:.2f}x (target <= 1.5x)")
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
