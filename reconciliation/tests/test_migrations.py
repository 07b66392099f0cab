"""Migration 0002: reports imported before it keep their raw rows, as the report's kept file."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.postgres

BEFORE = [("reconciliation", "0001_initial")]
AFTER = [("reconciliation", "0002_report_file_kept")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_rows_raw_text_becomes_the_kept_file(organization):
    try:
        apps = _migrate(BEFORE)
        Report = apps.get_model("reconciliation", "ProviderReport")
        Row = apps.get_model("reconciliation", "ProviderReportRow")
        User = apps.get_model("auth", "User")
        user = User.objects.create(username="migration-test")
        report = Report.objects.create(
            organization_id=organization.pk,
            provider="arca",
            format="payops_csv",
            sha256="0" * 64,
            imported_by=user,
            status="imported",
        )
        at = dt.datetime(2026, 10, 5, 10, tzinfo=dt.UTC)
        raws = ["A-1,R1,100.00,AMD,paid,2026-10-05T10:00:00Z,0,0", "A-2,,5,AMD,declined,x,0,0"]
        for line_no, raw in zip((3, 2), reversed(raws), strict=True):
            Row.objects.create(
                report=report,
                line_no=line_no,
                order_number=raw.split(",")[0],
                amount="1",
                currency="AMD",
                status="paid",
                paid_at=at,
                raw=raw,
            )
        apps = _migrate(AFTER)
        File = apps.get_model("reconciliation", "ProviderReportFile")
        kept = b"".join(bytes(p.data) for p in File.objects.filter(report_id=report.pk))
        lines = kept.decode().splitlines()
        assert lines[0].startswith("order_number,provider_reference,amount")
        assert lines[1:] == raws  # in line order, each row's line where its line_no says
        row = apps.get_model("reconciliation", "ProviderReportRow").objects.get(line_no=3)
        assert lines[row.line_no - 1] == raws[1]
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
