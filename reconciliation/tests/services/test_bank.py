"""Bank statements: the public MT940 samples and a camt.053 example parse and match."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from core.errors import DomainError
from exceptionqueue.models import ExceptionCase
from reconciliation.models import BankStatement, BankStatementLine
from reconciliation.services import bank_payouts_check, bank_statement_import
from reconciliation.tests.factories import completed_payout

SAMPLES = Path("/work/shared/samples/bank-statements/mt940")
REPO_SAMPLES = Path(__file__).resolve().parents[1] / "fixtures"
CAMT = REPO_SAMPLES / "camt053_example.xml"


def _samples_or_skip():
    if not SAMPLES.exists():
        pytest.skip("the shared MT940 samples are not on this machine")


def _import(organization, actor, data, name=""):
    return bank_statement_import(organization=organization, data=data, actor=actor, file_name=name)


@pytest.mark.parametrize(
    ("name", "lines", "debits"),
    [
        ("mBank_mt940.sta", 3, 0),
        ("mBank_with_newline_in_tnr.sta", 2, 0),
        ("sberbank_171011_01234945.sta", 3, 3),
        ("betterplace_sepa_mt9401.sta", 97, None),
    ],
)
def test_public_mt940_samples_parse(organization, actor, name, lines, debits):
    _samples_or_skip()
    statement = _import(organization, actor, (SAMPLES / name).read_bytes(), name)
    assert statement.format == "mt940"
    assert statement.lines.count() == lines
    if debits is not None:
        assert statement.lines.filter(amount__lt=0).count() == debits
    # Every debit is a case: none of these banks paid one of our payouts.
    assert ExceptionCase.objects.filter(kind="bank_debit_unexplained").count() == (
        statement.lines.filter(amount__lt=0).count()
    )


def test_mt940_debit_matches_the_payout_by_reference_and_amount(organization, branch, actor):
    _samples_or_skip()
    payout = completed_payout(
        organization, branch, "500250.00", currency="EUR", reference="BD7CFA74485E7E69"
    )
    statement = _import(organization, actor, (SAMPLES / "betterplace_sepa_mt9401.sta").read_bytes())
    line = BankStatementLine.objects.get(payout=payout)
    assert line.statement == statement
    assert line.amount == Decimal("-500250.00")
    assert not ExceptionCase.objects.filter(
        kind="bank_debit_unexplained", details__line=line.line_no
    ).exists()


def test_broken_mt940_sample_is_refused_naming_the_line(organization, actor):
    _samples_or_skip()
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, (SAMPLES / "betterplace_sepa_snippet_broken.sta").read_bytes())
    assert caught.value.code == "malformed_file"
    assert "line 6" in caught.value.message
    assert not BankStatement.objects.exists()


def test_fragments_without_a_statement_are_refused(organization, actor):
    _samples_or_skip()
    for name in ("cmxl_account_balance_debit.sta", "betterplace_amount_formats.sta"):
        with pytest.raises(DomainError) as caught:
            _import(organization, actor, (SAMPLES / name).read_bytes())
        assert caught.value.code == "malformed_file"
    assert not BankStatement.objects.exists()


def test_camt053_example_parses_and_matches(organization, branch, actor):
    paid = completed_payout(organization, branch, "45000.00", reference="PAYOUT-2026-11-0001")
    other = completed_payout(organization, branch, "31000.00", reference="PAYOUT-2026-11-0002")
    statement = _import(organization, actor, CAMT.read_bytes(), "camt.xml")
    assert statement.format == "camt053"
    assert statement.account == "AM00123456789012345678"
    assert statement.opening_balance == Decimal("1000000.00")
    assert statement.closing_balance == Decimal("1012500.00")
    lines = list(statement.lines.order_by("line_no"))
    assert [str(line.amount) for line in lines] == [
        "-45000.00",
        "-12000.00",
        "-30000.00",
        "99500.00",
    ]
    assert lines[0].payout == paid
    assert lines[0].booked_on == dt.date(2026, 11, 2)
    assert lines[2].payout is None
    kinds = sorted(ExceptionCase.objects.values_list("kind", flat=True))
    assert kinds == ["bank_debit_unexplained", "settlement_mismatch"]
    mismatch = ExceptionCase.objects.get(kind="settlement_mismatch")
    assert f"payout #{other.pk}" in mismatch.message
    assert mismatch.blocking


def test_the_same_statement_twice_is_recognised(organization, actor):
    _import(organization, actor, CAMT.read_bytes())
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, CAMT.read_bytes())
    assert caught.value.code == "statement_already_imported"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"hello", "not a bank statement"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "http://example.com/x">]>'
            b"<Document><BkToCstmrStmt>&x;</BkToCstmrStmt></Document>",
            "DOCTYPE",
        ),
        (
            b"<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy='AMD'>1x</Amt></Ntry></Stmt>"
            b"</BkToCstmrStmt></Document>",
            "bad amount",
        ),
        (b"<Document><BkToCstmrStmt><Stmt></BkToCstmrStmt></Document>", "broken XML"),
    ],
)
def test_malformed_statements_are_refused(organization, actor, data, words):
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, data)
    assert caught.value.code == "malformed_file"
    assert words in caught.value.message
    assert not BankStatement.objects.exists()


def test_completed_payout_without_bank_line_after_n_days(organization, branch, actor):
    from django.utils import timezone

    now = timezone.now()
    old = completed_payout(
        organization,
        branch,
        "45000.00",
        reference="PAYOUT-2026-11-0001",
        completed_at=now - dt.timedelta(days=5),
    )
    completed_payout(
        organization, branch, "1000.00", reference="FRESH", completed_at=now - dt.timedelta(hours=2)
    )
    today = timezone.localtime(now, organization.tz).date()
    assert bank_payouts_check(organization=organization, today=today, actor=actor) == 1
    case = ExceptionCase.objects.get(kind="payout_without_bank_line")
    assert case.subject == old
    assert bank_payouts_check(organization=organization, today=today, actor=actor) == 1
    assert ExceptionCase.objects.filter(kind="payout_without_bank_line").count() == 1
    # The bank statement arrives: the case resolves itself.
    _import(organization, actor, CAMT.read_bytes())
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.auto_resolved
