"""Workload 2: import a month's provider report and reconcile it (file to persisted results and
exception cases), through ``benchmarks/reconciliation.py`` (the reconciliation branch's own
benchmark: its data, its planted problems and its floor, ``psql`` ``\\copy`` + one full join),
and a second measure against the *required work* in raw SQL (the floor plus the typed rows and
one line per pair persisted, ``REQUIRED_SQL``).

Each round uses a fresh organisation with ``size`` payments of its own (at most
``MAX_ROWS``: the report and its payments are made per round) and checks that exactly the planted
problems were found. Run last: its payments do not weigh on the other workloads' pages. Every
size runs ``--repeat`` rounds (1,000,000 rows included: a round is a few minutes there).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Result, load

NAME = "reconciliation"
TITLE = "(2) import and reconcile a month's provider report"
ORDER = 20
# The report and its payments are made per round (minutes per round at 1,000,000 rows);
# BENCH_RECON_MAX_ROWS=100000 caps it for a quicker run.
MAX_ROWS = int(os.environ.get("BENCH_RECON_MAX_ROWS", "1000000"))


def run(ctx) -> list[Result]:
    from benchmarks import reconciliation as r
    from core.actors import system_actor
    from core.models import Branch, Organization
    from reconciliation.services import provider_report_import, reconciliation_run

    rows = min(ctx.size, MAX_ROWS)
    repeat = ctx.repeat
    actor = system_actor("benchmark")
    app, floor, imports, required = [], [], [], []
    for i in range(repeat):
        organization = Organization.objects.create(slug=f"recon-{i}", name=f"Reconciliation {i}")
        branch = Branch.objects.create(organization=organization, code="main", name="Main")
        prefix = f"R{i}-"
        r.insert_payments(organization, branch, rows, prefix)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "report.csv"
            r.write_report(path, prefix, rows, organization)
            floor.append(r.psql_floor(path))
            started = time.perf_counter()
            with path.open("rb") as handle:
                provider_report_import(
                    organization=organization,
                    provider="arca",
                    file=handle,
                    actor=actor,
                    file_name=path.name,
                )
            imports.append(time.perf_counter() - started)
            run = reconciliation_run(
                organization=organization, start=r.START, end=r.END, actor=actor
            )
            app.append(time.perf_counter() - started)
            required.append(r.psql_required(path, organization))
        planted = {"missing_in_provider_report", "missing_in_payops", "amount_mismatch"}
        planted |= {"status_mismatch", "duplicate"}
        assert run.counts == {"matched": rows - 3, **dict.fromkeys(planted, 1)}, run.counts
    reconciles = [a - i for a, i in zip(app, imports, strict=True)]
    return [
        Result(
            NAME,
            f"import + reconcile a report ({rows:,} rows)",
            "s",
            app,
            floor,
            extra={
                "import": f"{statistics.median(imports):.3g}s",
                "reconcile": f"{statistics.median(reconciles):.3g}s",
                "load": f"{load():.2f}",
            },
        ),
        Result(
            NAME,
            f"import + reconcile against the required work in raw SQL ({rows:,} rows)",
            "s",
            app,
            required,
            extra={
                "required/floor": f"{statistics.median(required) / statistics.median(floor):.2f}x"
            },
        ),
    ]
