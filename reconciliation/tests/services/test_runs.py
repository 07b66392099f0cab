"""A generated month with every kind of mismatch planted: the run finds exactly those, reruns
raise nothing new, and a case whose problem is gone resolves itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from exceptionqueue.models import ExceptionCase
from payments.models import Payment
from payouts.tests.factories import refund
from reconciliation.models import ReconciliationItem, ReconciliationRun
from reconciliation.services import reconciliation_run, reconciliation_settings_get
from reconciliation.tests.factories import import_rows, local, paid, row_of

pytestmark = pytest.mark.postgres
START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
KINDS = ("reconciliation_mismatch", "missing_in_provider_report", "missing_in_payops")


@pytest.fixture
def month(organization, branch):
    """31 days, two payments a day (arca), a correct report row for each, and the plants."""
    settings = reconciliation_settings_get(organization=organization)
    settings.fee_rates = {"arca": "1.5"}
    settings.save()
    payments = []
    for offset in range(31):
        day = START + dt.timedelta(days=offset)
        for hour in (10, 16):
            amount = f"{1000 + offset * 10 + hour}.00"
            payments.append(paid(organization, branch, amount, at=local(organization, day, hour)))
    p = {
        name: payments[i]
        for i, name in enumerate(
            ["missing", "amount", "status", "duplicate", "refund", "fee", "window", "reference"],
            start=3,
        )
    }
    refund(p["refund"], "300.00")
    refund(p["window"], "50.00")  # refunds compared, and equal in the report
    for key in ("refund", "window"):
        p[key].refresh_from_db()
    rows = []
    for payment in payments:
        if payment == p["missing"]:
            continue
        row = row_of(payment)
        if payment == p["amount"]:
            row["amount"] = str(payment.amount + Decimal("100.00"))
            row["fee"] = str((Decimal(row["amount"]) * Decimal("0.015")).quantize(Decimal("0.01")))
        elif payment == p["status"]:
            row["status"] = "declined"
        elif payment == p["refund"]:
            row["refunded_amount"] = "200.00"
        elif payment == p["fee"]:
            row["fee"] = "99.99"
        elif payment == p["window"]:
            row.update(
                order_number="",
                provider_reference="",
                paid_at=(payment.verified_at + dt.timedelta(minutes=4)).isoformat(),
            )
        elif payment == p["reference"]:
            row["order_number"] = ""
        rows.append(row)
        if payment == p["duplicate"]:
            rows.append(dict(row))
    # A row payops does not know, and a declined row nobody owes anything for.
    rows.append(
        {
            "order_number": "PO-UNKNOWN-1",
            "provider_reference": "X-1",
            "amount": "700.00",
            "currency": "AMD",
            "status": "paid",
            "paid_at": local(organization, START, 13).isoformat(),
            "fee": "10.50",
        }
    )
    rows.append(
        {
            "order_number": "PO-DECLINED-1",
            "amount": "900.00",
            "currency": "AMD",
            "status": "declined",
            "paid_at": local(organization, START, 14).isoformat(),
        }
    )
    import_rows(organization, rows)
    return {"payments": payments, **p}


def _cases(organization):
    return ExceptionCase.objects.filter(organization=organization, kind__in=KINDS)


def test_month_finds_exactly_the_planted_mismatches(organization, actor, month):
    run = reconciliation_run(organization=organization, start=START, end=END, actor=actor)
    assert run.counts == {
        "matched": 62 - 5,
        "missing_in_provider_report": 1,
        "missing_in_payops": 1,
        "amount_mismatch": 3,
        "status_mismatch": 1,
        "duplicate": 1,
    }
    items = {(i.category, i.field, i.order_number) for i in run.items.exclude(category="matched")}
    assert items == {
        ("missing_in_provider_report", "", month["missing"].order_number),
        ("missing_in_payops", "", "PO-UNKNOWN-1"),
        ("amount_mismatch", "amount", month["amount"].order_number),
        ("amount_mismatch", "refunded_amount", month["refund"].order_number),
        ("amount_mismatch", "fee", month["fee"].order_number),
        ("status_mismatch", "status", month["status"].order_number),
        ("duplicate", "order_number", month["duplicate"].order_number),
    }
    how = dict(run.items.filter(category="matched").values_list("payment_id", "matched_by"))
    assert how[month["window"].pk] == "time_window"
    assert how[month["reference"].pk] == "reference"
    refund_item = run.items.get(field="refunded_amount")
    assert (refund_item.expected, refund_item.reported) == ("300.00", "200.00")
    cases = _cases(organization)
    assert cases.count() == 7
    assert all(c.blocking for c in cases)
    missing = cases.get(kind="missing_in_provider_report")
    assert missing.period_start == month["missing"].verified_at.astimezone(organization.tz).date()
    assert run.figures["AMD"]["verified"] == str(
        sum(p.amount for p in month["payments"]).quantize(Decimal("0.01"))
    )
    assert run.figures["AMD"]["provider_fees"] != "0.00"


def test_rerun_raises_nothing_new_and_gives_the_same_results(organization, actor, month):
    first = reconciliation_run(organization=organization, start=START, end=END, actor=actor)
    ids = set(_cases(organization).values_list("id", flat=True))
    second = reconciliation_run(organization=organization, start=START, end=END, actor=actor)
    assert second.counts == first.counts
    assert set(_cases(organization).values_list("id", flat=True)) == ids
    assert second.exceptions_raised == 0
    assert all(c.occurrences == 2 for c in _cases(organization))
    lines = lambda run: sorted(  # noqa: E731
        run.items.values_list("category", "field", "payment_id", "order_number"), key=str
    )
    assert lines(first) == lines(second)


def test_dry_run_persists_lines_but_raises_nothing(organization, actor, month):
    run = reconciliation_run(
        organization=organization, start=START, end=END, actor=actor, dry_run=True
    )
    assert run.dry_run
    assert run.items.filter(category="duplicate").count() == 1
    assert not _cases(organization).exists()


def test_a_problem_gone_resolves_its_case(organization, actor, month):
    reconciliation_run(organization=organization, start=START, end=END, actor=actor)
    case = _cases(organization).get(kind="missing_in_provider_report")
    # The provider sends a corrected report that now lists the missing payment.
    import_rows(organization, [row_of(month["missing"])], name="late.csv")
    run = reconciliation_run(organization=organization, start=START, end=END, actor=actor)
    assert run.counts["missing_in_provider_report"] == 0
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.RESOLVED
    assert case.auto_resolved
    assert run.exceptions_resolved == 1
    assert _cases(organization).filter(status="open").count() == 6


def test_single_day_run_sees_only_that_day(organization, actor, month):
    day = month["missing"].verified_at.astimezone(organization.tz).date()
    run = reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    assert run.counts["missing_in_provider_report"] == 1
    assert sum(run.counts.values()) == 2


def test_nightly_run_is_one_per_day(organization, actor, month):
    kwargs = dict(
        organization=organization,
        start=START,
        end=START,
        actor=actor,
        trigger=ReconciliationRun.Trigger.NIGHTLY,
    )
    first = reconciliation_run(**kwargs)
    again = reconciliation_run(**kwargs)
    assert again.pk == first.pk
    assert ReconciliationRun.objects.filter(trigger="nightly").count() == 1


def test_inverted_range_is_refused(organization, actor):
    from core.errors import DomainError

    with pytest.raises(DomainError) as caught:
        reconciliation_run(organization=organization, start=END, end=START, actor=actor)
    assert caught.value.code == "invalid"
    assert not ReconciliationItem.objects.exists()


def test_case_messages_keep_the_identifiers_case(organization, branch, actor):
    """Before: the message's subject went through ``str.capitalize``, which lowercased the order
    number or reference after its first letter ("Order ord-abc-1", "Reference ab-cd-9"), and a
    duplicate's subject, mid-sentence, was capitalised too ("lists Order ...")."""
    day = dt.date(2026, 10, 15)
    amount = paid(organization, branch, "100.00", at=local(organization, day, 10))
    twice = paid(organization, branch, "200.00", at=local(organization, day, 11))
    missing = paid(organization, branch, "300.00", at=local(organization, day, 12))
    for payment, number in ((amount, "ORD-ABC-1"), (twice, "ORD-Dup-2"), (missing, "ORD-MIS-3")):
        Payment.objects.filter(pk=payment.pk).update(order_number=number)
        payment.refresh_from_db()
    rows = [row_of(amount, amount="150.00", fee="1.50"), row_of(twice), row_of(twice)]
    rows.append(
        {
            "order_number": "",
            "provider_reference": "ref-xy-9",
            "amount": "700.00",
            "currency": "AMD",
            "status": "paid",
            "paid_at": local(organization, day, 13).isoformat(),
            "fee": "10.50",
        }
    )
    import_rows(organization, rows)
    reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    messages = sorted(case.message for case in _cases(organization))
    expected = [
        "Order ORD-ABC-1: payops has amount 100.00 AMD",
        "Order ORD-MIS-3 is settled in payops",
        "The arca report lists order ORD-Dup-2 more than once",
        "The arca report lists reference REF-XY-9 (",  # references are read in upper case
    ]
    for start in expected:
        assert any(m.startswith(start) for m in messages), (start, messages)


@pytest.mark.parametrize(
    ("start", "end", "fields"),
    [
        (dt.date(9999, 12, 31), dt.date(9999, 12, 31), ["period_start", "period_end"]),
        (dt.date(9998, 12, 31), dt.date.max, ["period_end"]),
        (dt.date.min, dt.date(1970, 1, 1), ["period_start"]),
    ],
)
def test_a_run_beyond_the_accepted_dates_is_refused(organization, actor, start, end, fields):
    """The command's ``--date 9999-12-31`` overflowed at the day after (a traceback)."""
    from core.errors import DomainError

    with pytest.raises(DomainError) as caught:
        reconciliation_run(organization=organization, start=start, end=end, actor=actor)
    assert caught.value.code == "invalid"
    assert sorted(caught.value.fields) == sorted(fields)
    assert not ReconciliationRun.objects.exists()


def _unknown(organization, day, hour, amount):
    """A report row without order number or provider reference that no payment matches."""
    return {
        "order_number": "",
        "provider_reference": "",
        "amount": amount,
        "currency": "AMD",
        "status": "paid",
        "paid_at": local(organization, day, hour).isoformat(),
        "fee": "1.00",
    }


def test_rows_without_identifiers_are_one_case_each(organization, branch, actor):
    """Before: every row without order number and reference had the key ``...:ref:``, so the
    second unknown row (and the third, ...) was hidden behind the first one's case (one case,
    several problems) and a rerun or a corrected report could not tell them apart. Now each
    row is its own case: two rows of the same content too (the n-th of them), reruns raise
    nothing new, and a corrected report without a row resolves that row's case only."""
    day = dt.date(2026, 10, 15)
    known = paid(organization, branch, "100.00", at=local(organization, day, 10))
    rows = [
        row_of(known),
        _unknown(organization, day, 13, "700.00"),
        _unknown(organization, day, 14, "800.00"),
        _unknown(organization, day, 15, "900.00"),
        _unknown(organization, day, 15, "900.00"),  # the same content twice: two rows
    ]
    import_rows(organization, rows)
    first = reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    assert first.counts["missing_in_payops"] == 4

    def cases():
        return _cases(organization).filter(kind="missing_in_payops")

    assert cases().count() == 4
    assert first.exceptions_raised == 4
    assert len(set(cases().values_list("dedup_key", flat=True))) == 4
    messages = sorted(cases().values_list("message", flat=True))
    assert all("without order number or reference" in m for m in messages), messages
    assert [m.split("(")[-1] for m in messages] == [
        "700.00 AMD) that payops does not know.",
        "800.00 AMD) that payops does not know.",
        "900.00 AMD) that payops does not know.",
        "900.00 AMD) that payops does not know.",
    ]
    ids = {c.details["reported"]: c.pk for c in cases()}
    before = set(cases().values_list("id", flat=True))

    second = reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    assert second.exceptions_raised == 0
    assert second.exceptions_resolved == 0
    assert set(cases().values_list("id", flat=True)) == before
    assert all(c.occurrences == 2 and c.status == "open" for c in cases())

    # A corrected report (the same hours) without the 800.00 row and with one 900.00 row.
    import_rows(organization, rows[:2] + rows[3:4], name="corrected.csv")
    third = reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    assert third.counts["missing_in_payops"] == 2
    assert third.exceptions_raised == 0
    assert third.exceptions_resolved == 2
    open_cases = cases().filter(status="open")
    assert sorted(open_cases.values_list("details__reported", flat=True)) == [
        "700.00 AMD",
        "900.00 AMD",
    ]
    assert ids["700.00 AMD"] in set(open_cases.values_list("id", flat=True))
    gone = cases().exclude(status="open")
    assert sorted(gone.values_list("details__reported", flat=True)) == ["800.00 AMD", "900.00 AMD"]
    assert all(c.auto_resolved and c.status == "resolved" for c in gone)
    assert set(cases().values_list("id", flat=True)) == before  # nothing new was raised
