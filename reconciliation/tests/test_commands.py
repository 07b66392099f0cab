"""import_provider_report, reconcile, import_bank_statement: summaries, and non-zero exits with a
sentence on bad input."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reconciliation.models import BankStatement, ProviderReport, ReconciliationRun
from reconciliation.tests.factories import local, paid, report_bytes, row_of

pytestmark = pytest.mark.postgres
DAY = dt.date(2026, 10, 5)
CAMT = Path(__file__).parent / "fixtures" / "camt053_example.xml"


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_then_reconcile(tmp_path, organization, branch):
    payment = paid(organization, branch, "1500.00", at=local(organization, DAY))
    path = tmp_path / "arca.csv"
    path.write_bytes(report_bytes([row_of(payment)]))
    out, err = _run(
        "import_provider_report", "--org", organization.slug, "--provider", "arca", str(path)
    )
    report = ProviderReport.objects.get()
    assert f"Imported report #{report.pk} (payops_csv, arca): 1 rows" in out
    assert "arca.csv" in err  # the progress bar
    out, _ = _run("reconcile", "--org", organization.slug, "--date", DAY.isoformat())
    run = ReconciliationRun.objects.get()
    assert f"Run #{run.pk} {DAY}..{DAY}" in out
    assert '"matched": 1' in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["import_provider_report", "--org", "nope", "--provider", "arca", "x.csv"],
            "no organisation 'nope'",
        ),
        (
            [
                "import_provider_report",
                "--org",
                "yerevan-cafe",
                "--provider",
                "arca",
                "/no/such.csv",
            ],
            "no file",
        ),
        (["reconcile", "--org", "yerevan-cafe", "--date", "2026-13-01"], "not a date"),
        (["reconcile", "--org", "yerevan-cafe", "--date", "9999-12-31"], "1970-01-01 to 9998"),
        (["reconcile", "--org", "yerevan-cafe", "--date", "0001-01-01"], "1970-01-01 to 9998"),
        (["import_bank_statement", "--org", "nope", "x.sta"], "no organisation"),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_sentence(organization, args, words):
    with pytest.raises(CommandError) as caught:
        _run(*args)
    assert words in str(caught.value)


def test_bad_file_and_unknown_provider(tmp_path, organization):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"order_number,amount,currency,status,paid_at\nPO1,1x,AMD,paid,2026\n")
    with pytest.raises(CommandError) as caught:
        _run("import_provider_report", "--org", organization.slug, "--provider", "arca", str(path))
    assert "line 2: bad amount '1x'" in str(caught.value)
    assert "(malformed_file)" in str(caught.value)
    with pytest.raises(CommandError) as caught:
        _run(
            "import_provider_report", "--org", organization.slug, "--provider", "paypal", str(path)
        )
    assert "unknown_provider" in str(caught.value)
    assert not ProviderReport.objects.exists()


def test_import_bank_statement(organization):
    out, _ = _run("import_bank_statement", "--org", organization.slug, str(CAMT))
    statement = BankStatement.objects.get()
    assert f"camt053 statement #{statement.pk}" in out
    assert "4 lines, 3 debits, 0 matched" in out
    with pytest.raises(CommandError) as caught:
        _run("import_bank_statement", "--org", organization.slug, str(CAMT))
    assert "statement_already_imported" in str(caught.value)
