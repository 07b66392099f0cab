"""Provider report import: COPY into staging, validation naming the line, nothing half-written."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest

from core.errors import DomainError
from reconciliation.models import ProviderReport, ProviderReportFile, ProviderReportRow
from reconciliation.selectors import report_file_bytes
from reconciliation.services import provider_report_import
from reconciliation.tests.factories import COLUMNS, local, paid, report_bytes, row_of

DAY = dt.date(2026, 10, 5)


def _import(organization, actor, data: bytes, **kwargs):
    return provider_report_import(
        organization=organization,
        provider=kwargs.pop("provider", "arca"),
        file=io.BytesIO(data),
        actor=actor,
        **kwargs,
    )


def _good_rows(organization, branch, n=3):
    return [
        row_of(
            paid(organization, branch, f"{100 * (i + 1)}.00", at=local(organization, DAY, 10 + i))
        )
        for i in range(n)
    ]


def test_import_keeps_rows_raw_text_and_hash(organization, branch, actor):
    rows = _good_rows(organization, branch)
    data = report_bytes(rows)
    report = _import(organization, actor, data, file_name="arca-oct.csv")
    assert report.status == ProviderReport.Status.IMPORTED
    assert report.format == "payops_csv"
    assert report.rows_total == 3
    assert report.progress == 100
    assert report.period_start == DAY
    assert report.period_end == DAY
    import hashlib

    assert report.sha256 == hashlib.sha256(data).hexdigest()
    stored = list(ProviderReportRow.objects.filter(report=report).order_by("line_no"))
    assert [r.line_no for r in stored] == [2, 3, 4]
    assert stored[0].order_number == rows[0]["order_number"]
    assert str(stored[1].amount) == "200.00"
    # The raw rows are the kept file, byte for byte; a row's line_no is its line there.
    kept = report_file_bytes(report=report)
    assert kept == data
    assert hashlib.sha256(kept).hexdigest() == report.sha256
    assert kept.splitlines()[stored[0].line_no - 1].startswith(rows[0]["order_number"].encode())


def test_kept_file_is_split_in_parts_and_joined_back(organization, branch, actor, monkeypatch):
    monkeypatch.setattr(ProviderReportFile, "PART_BYTES", 64)
    data = report_bytes(_good_rows(organization, branch, 12))
    report = _import(organization, actor, data)
    parts = list(ProviderReportFile.objects.filter(report=report).order_by("part"))
    assert len(parts) == -(-len(data) // 64) > 8  # more than one batch of parts
    assert [p.part for p in parts] == list(range(len(parts)))
    assert report_file_bytes(report=report) == data


def test_refused_file_keeps_nothing(organization, branch, actor):
    rows = _good_rows(organization, branch)
    rows[1]["amount"] = "12.345"
    with pytest.raises(DomainError):
        _import(organization, actor, report_bytes(rows))
    assert not ProviderReportFile.objects.exists()


def test_same_file_twice_is_recognised(organization, branch, actor):
    data = report_bytes(_good_rows(organization, branch, 1))
    first = _import(organization, actor, data)
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, data)
    assert caught.value.code == "report_already_imported"
    assert f"#{first.pk}" in caught.value.message
    assert ProviderReport.objects.count() == 1


def test_same_file_twice_names_the_local_date_of_the_first(organization, branch, actor):
    data = report_bytes(_good_rows(organization, branch, 1))
    first = _import(organization, actor, data)
    # 22:30 UTC on 5 October is 02:30 on 6 October in Yerevan.
    ProviderReport.objects.filter(pk=first.pk).update(
        created_at=dt.datetime(2026, 10, 5, 22, 30, tzinfo=dt.UTC)
    )
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, data)
    assert f"report #{first.pk} on 2026-10-06;" in caught.value.message


@pytest.mark.parametrize(
    ("mutate", "line", "words"),
    [
        (lambda rows: rows[1].update(amount="12,50"), 3, "bad amount"),
        (lambda rows: rows[2].update(amount="-5.00"), 4, "bad amount"),
        (lambda rows: rows[0].update(paid_at="2026-10-05 12:00"), 2, "bad paid_at"),
        (lambda rows: rows[1].update(paid_at="2026-02-30T10:00:00+04:00"), 3, "paid_at"),
        (lambda rows: rows[2].update(status="settled"), 4, "bad status"),
        (lambda rows: rows[0].update(currency="XYZ"), 2, "bad currency"),
        (lambda rows: rows[1].update(refunded_amount="900.00"), 3, "above amount"),
        # Spellings PostgreSQL's numeric cast reads (some it even writes back the same way)
        # that the plain-decimal rule refuses.
        *[
            (lambda rows, v=value: rows[1].update(amount=v), 3, "bad amount")
            for value in ("1E+3", "+5.00", ".50", "5.", "NaN", "Infinity", "-0", "12.345")
        ],
        (lambda rows: rows[2].update(fee="1e1"), 4, "bad fee"),
        # Out of the dates payops accepts (a 9999 paid_at overflowed in Yerevan time: a 500;
        # a 0001 one in UTC+4 is a BC timestamp in PostgreSQL that psycopg cannot read back).
        *[
            (
                lambda rows, v=value: rows[1].update(paid_at=v),
                3,
                "outside 1970-01-01..9998-12-31",
            )
            for value in (
                "9999-12-31T23:00:00+00:00",
                "9999-01-01T05:00:00+04:00",
                "0001-01-01T00:00:00+04:00",
                "1969-12-31T23:59:59Z",
                "1970-01-01T03:00:00+04:00",
            )
        ],
        # Each amount problem in its own sentence.
        (lambda rows: rows[2].update(amount="-5.00"), 4, "amount cannot be negative"),
        (lambda rows: rows[2].update(fee="-1"), 4, "fee cannot be negative"),
        (lambda rows: rows[1].update(amount="12345678901.00"), 3, "above 9999999999.99"),
        (lambda rows: rows[1].update(amount="1" * 25 + ".00"), 3, "above 9999999999.99"),
        (lambda rows: rows[1].update(amount="10.505"), 3, "3 decimal places"),
        (lambda rows: rows[1].update(refunded_amount="1.0001"), 3, "4 decimal places"),
    ],
)
def test_bad_values_are_refused_naming_the_line(organization, branch, actor, mutate, line, words):
    rows = _good_rows(organization, branch)
    mutate(rows)
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, report_bytes(rows))
    assert caught.value.code == "malformed_file"
    assert f"line {line}" in caught.value.message
    assert words in caught.value.message
    assert not ProviderReport.objects.exists()
    assert not ProviderReportRow.objects.exists()


def test_the_first_and_last_accepted_moments_are_read(organization, branch, actor):
    rows = _good_rows(organization, branch, 2)
    rows[0]["paid_at"], rows[1]["paid_at"] = "1970-01-01T00:00:00Z", "9998-12-31T23:59:59Z"
    report = _import(organization, actor, report_bytes(rows))
    assert report.rows_total == 2
    assert (report.period_start, report.period_end) == (dt.date(1970, 1, 1), dt.date(9999, 1, 1))


def test_plain_amounts_in_any_spelling_are_read(organization, branch, actor):
    rows = _good_rows(organization, branch, 3)
    rows[0]["amount"], rows[1]["amount"], rows[2]["fee"] = "0050.5", " 12.50 ", "7"
    report = _import(organization, actor, report_bytes(rows))
    stored = list(ProviderReportRow.objects.filter(report=report).order_by("line_no"))
    assert [r.amount for r in stored[:2]] == [Decimal("50.5"), Decimal("12.50")]
    assert stored[2].fee == Decimal("7")


@pytest.mark.parametrize("tail", [b"\n\n\n", b"\r\n\r\n", b"\n \n\t\n", b"\n   "])
def test_trailing_blank_lines_are_dropped(organization, branch, actor, tail):
    """A report ending in empty lines was refused: COPY read each as a row of one empty field."""
    data = report_bytes(_good_rows(organization, branch, 2)) + tail
    report = _import(organization, actor, data)
    assert report.rows_total == 2
    assert report_file_bytes(report=report) == data  # the file is kept as it came


def test_trailing_blank_lines_after_the_header_leave_no_rows(organization, actor):
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, report_bytes([]) + b"\n\n")
    assert "no rows" in caught.value.message


def test_a_blank_line_between_rows_is_still_refused(organization, branch, actor):
    first, second = (report_bytes(_good_rows(organization, branch, 1)) for _ in range(2))
    data = first + b"\n" + second.split(b"\n", 1)[1] + b"\n\n"
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, data)
    assert caught.value.code == "malformed_file"
    assert "line 3" in caught.value.message
    assert not ProviderReport.objects.exists()


def test_missing_and_unknown_columns_are_refused(organization, branch, actor):
    rows = _good_rows(organization, branch, 1)
    without_amount = [c for c in COLUMNS if c != "amount"]
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, report_bytes(rows, without_amount))
    assert "missing column(s) amount" in caught.value.message
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, report_bytes(rows, (*COLUMNS, "tip")))
    assert "unknown column(s) tip" in caught.value.message
    assert not ProviderReport.objects.exists()


def test_wrong_field_count_and_wrong_encoding_name_the_line(organization, branch, actor):
    rows = _good_rows(organization, branch, 2)
    data = report_bytes(rows) + b"PO1,REF,100.00,AMD,paid\n"
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, data)
    assert "line 4" in caught.value.message
    latin = report_bytes(rows).replace(b",paid,", ",pa\u00efd,".encode("latin-1"), 1)
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, latin)
    assert caught.value.code == "malformed_file"
    assert "line 2" in caught.value.message
    assert not ProviderReportRow.objects.exists()


def test_empty_file_and_header_only_are_refused(organization, actor):
    for data, words in [(b"", "empty"), (b"\n", "empty"), (report_bytes([]), "no rows")]:
        with pytest.raises(DomainError) as caught:
            _import(organization, actor, data)
        assert caught.value.code == "malformed_file", data
        assert words in caught.value.message
    assert not ProviderReport.objects.exists()


def test_unknown_provider_is_refused(organization, actor):
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, b"x", provider="paypal")
    assert caught.value.code == "unknown_provider"


def test_bpc_order_list_is_detected_and_converted(organization, branch, actor):
    payment = paid(organization, branch, "1500.00", at=local(organization, DAY, 9))
    millis = int(payment.verified_at.timestamp() * 1000)
    answer = {
        "errorCode": "0",
        "orderStatuses": [
            {
                "orderNumber": payment.order_number,
                "orderStatus": 2,
                "amount": 150000,
                "currency": "051",
                "date": millis,
                "authDateTime": millis,
                "attributes": [{"name": "mdOrder", "value": payment.provider_reference.lower()}],
                "paymentAmountInfo": {"refundedAmount": 0},
            },
            {
                "orderNumber": "PO-NOT-PAID",
                "orderStatus": 0,
                "amount": 100,
                "currency": "051",
                "date": millis,
            },
            {
                "orderNumber": "PO-DECLINED",
                "orderStatus": 6,
                "amount": 2500,
                "currency": "051",
                "date": millis,
            },
        ],
        "totalCount": 3,
    }
    report = _import(organization, actor, json.dumps(answer).encode())
    assert report.format == "bpc_json"
    rows = list(
        report.rows.order_by("line_no").values_list(
            "order_number", "provider_reference", "amount", "status"
        )
    )
    assert [(r[0], r[3]) for r in rows] == [
        (payment.order_number, "paid"),
        ("PO-DECLINED", "declined"),
    ]
    assert rows[0][1] == payment.provider_reference.upper()
    assert str(rows[0][2]) == "1500.00"


def test_bpc_order_without_amount_is_refused(organization, actor):
    answer = {"errorCode": "0", "orderStatuses": [{"orderNumber": "A", "orderStatus": 2}]}
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, json.dumps(answer).encode())
    assert "order 1" in caught.value.message


BPC_ORDER = {"orderNumber": "A", "orderStatus": 2, "amount": 100, "currency": "051"}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"date": 253402300800000 * 2}, "outside 1970-01-01..9998-12-31"),
        ({"date": -1000}, "outside 1970-01-01..9998-12-31"),
        ({"authDateTime": 253402214400000}, "outside 1970-01-01..9998-12-31"),  # 9999-12-31
        ({"date": "soon"}, "bad date 'soon' (epoch milliseconds)"),
        ({"date": None}, "no date or authDateTime"),
        ({"amount": -5}, "amount cannot be negative"),
        ({"amount": 10**30}, "above 999999999999 minor units"),
        ({"amount": "1500.5"}, "bad amount '1500.5' (whole minor units)"),
        ({"orderStatus": "x"}, "bad orderStatus 'x' (a status number)"),
        ({"orderStatus": 9}, "unknown orderStatus 9"),
        ({"paymentAmountInfo": [1]}, "paymentAmountInfo is not a JSON object"),
        ({"paymentAmountInfo": {"refundedAmount": -1}}, "refundedAmount cannot be negative"),
    ],
)
def test_bpc_order_problems_are_sentences_naming_the_order(organization, actor, changes, words):
    """Python's own text ('invalid literal for int()', 'year 18029 is out of range',
    "'list' object has no attribute 'get'": a 500) is never the message."""
    order = {**BPC_ORDER, "date": 1759644000000, **changes}
    answer = {"errorCode": "0", "orderStatuses": [BPC_ORDER | {"date": 1759644000000}, order]}
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, json.dumps(answer).encode())
    assert caught.value.code == "malformed_file"
    assert "line 3: order 2: " in caught.value.message
    assert words in caught.value.message
    assert "missing or malformed" not in caught.value.message
    assert not ProviderReport.objects.exists()


def test_bpc_order_that_is_not_an_object_is_named(organization, actor):
    answer = {"errorCode": "0", "orderStatuses": [5]}
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, json.dumps(answer).encode())
    assert "order 1: not an order (a JSON object)" in caught.value.message


def _ameria(date_time: str, amount: str = "2500.00", status: str = "2") -> bytes:
    return f"""<?xml version="1.0"?><GetTransactionList>
<PaymentDetails><PaymentID>ab12</PaymentID><Opaque>PO1</Opaque><Amount>{amount}</Amount>
<Currency>051</Currency><OrderStatus>{status}</OrderStatus><DateTime>{date_time}</DateTime>
</PaymentDetails></GetTransactionList>""".encode()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_ameria("31/12/9999 23:30:00"), "bad DateTime '31/12/9999 23:30:00': outside"),
        (_ameria("01/01/0001 01:00:00"), "bad DateTime '01/01/0001 01:00:00': outside"),
        (_ameria("31/12/1969 23:00:00"), "outside 1970-01-01..9998-12-31"),
        (_ameria("05/10/2026 14:30:00", amount="-5"), "bad Amount '-5' (an amount: digits"),
        (_ameria("05/10/2026 14:30:00", amount="1.234"), "3 decimal places"),
        (_ameria("05/10/2026 14:30:00", amount="1e30"), "no sign or exponent"),
        (_ameria("05/10/2026 14:30:00", amount="10000000000.00"), "above 9999999999.99"),
        (_ameria("05/10/2026 14:30:00", amount="ten"), "bad Amount 'ten' (an amount: digits"),
        (_ameria("05/10/2026 14:30:00", status="x"), "bad OrderStatus 'x'"),
    ],
)
def test_ameria_transaction_problems_name_the_transaction(organization, actor, data, words):
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, data, provider="ameria")
    assert caught.value.code == "malformed_file"
    assert "transaction 1: " in caught.value.message
    assert words in caught.value.message
    assert not ProviderReport.objects.exists()


def test_ameria_list_is_detected_and_converted(organization, actor):
    xml = b"""<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<GetTransactionListResponse><GetTransactionListResult>
<PaymentDetails><PaymentID>ab12cd34-0000-4000-8000-000000000001</PaymentID>
<Opaque>PO123</Opaque><OrderID>123</OrderID><Amount>2500.00</Amount><ApprovedAmount>2500.00
</ApprovedAmount><Currency>051</Currency><OrderStatus>4</OrderStatus>
<RefundedAmount>1000.00</RefundedAmount><DateTime>05/10/2026 14:30:00</DateTime></PaymentDetails>
</GetTransactionListResult></GetTransactionListResponse></soap:Body></soap:Envelope>"""
    report = _import(organization, actor, xml, provider="ameria")
    assert report.format == "ameria_xml"
    row = report.rows.get()
    assert row.status == "partially_refunded"
    assert row.provider_reference == "AB12CD34-0000-4000-8000-000000000001"
    assert str(row.refunded_amount) == "1000.00"
    assert row.paid_at == local(organization, DAY, 14, 30)


def _ameria_list(amount: str, approved: str, refunded: str) -> bytes:
    return f"""<?xml version="1.0"?>
<GetTransactionListResult>
<PaymentDetails><PaymentID>ab12cd34-0000-4000-8000-000000000001</PaymentID>
<Opaque>PO1</Opaque><Amount>100.00</Amount><Currency>051</Currency><OrderStatus>2</OrderStatus>
<DateTime>05/10/2026 14:30:00</DateTime></PaymentDetails>
<PaymentDetails><PaymentID>ab12cd34-0000-4000-8000-000000000002</PaymentID>
<Opaque>PO2</Opaque><Amount>{amount}</Amount><ApprovedAmount>{approved}</ApprovedAmount>
<Currency>051</Currency><OrderStatus>4</OrderStatus><RefundedAmount>{refunded}</RefundedAmount>
<DateTime>05/10/2026 15:30:00</DateTime></PaymentDetails>
</GetTransactionListResult>""".encode()


@pytest.mark.parametrize("value", ["1E+3", "1e5", "2.5e2", "NaN", "Infinity", "+5.00", "-5.00"])
@pytest.mark.parametrize("field", ["Amount", "ApprovedAmount", "RefundedAmount"])
def test_ameria_amount_with_an_exponent_is_refused_naming_the_line(
    organization, actor, field, value
):
    """Before: ``Decimal`` read "1E+3" and the row went on as "1000" (the canonical check saw a
    plain number); now the transaction's line and the value are named and nothing is stored."""
    amounts = {"Amount": "1000.00", "ApprovedAmount": "", "RefundedAmount": "0"}
    amounts[field] = value
    data = _ameria_list(amounts["Amount"], amounts["ApprovedAmount"], amounts["RefundedAmount"])
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, data, provider="ameria")
    assert caught.value.code == "malformed_file"
    assert "line 6" in caught.value.message  # the second transaction's element
    assert f"{field} {value!r}" in caught.value.message
    assert not ProviderReport.objects.exists()
    assert not ProviderReportRow.objects.exists()


def test_ameria_plain_amounts_are_read(organization, actor):
    report = _import(
        organization, actor, _ameria_list("2500", "2500.00", "1000.5"), provider="ameria"
    )
    rows = {row.order_number: row for row in report.rows.all()}
    assert rows["PO2"].amount == Decimal("2500.00")
    assert rows["PO2"].refunded_amount == Decimal("1000.5")
    assert rows["PO1"].amount == Decimal("100.00")


def test_xml_with_entities_is_refused(organization, actor):
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<GetTransactionList><PaymentDetails><PaymentID>&lol2;</PaymentID></PaymentDetails>
</GetTransactionList>"""
    external = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<GetTransactionList>&e;</GetTransactionList>"""
    for data in (bomb, external):
        with pytest.raises(DomainError) as caught:
            _import(organization, actor, data, provider="ameria")
        assert caught.value.code == "malformed_file"
        assert "DOCTYPE" in caught.value.message
    assert not ProviderReport.objects.exists()


def test_first_of_several_bad_rows_is_named_after_many_good_ones(organization, branch, actor):
    """The typed write leaves bad rows out and compares counts: the first bad line (not any
    other) is named, the later one too is refused, and nothing is written."""
    rows = _good_rows(organization, branch, n=3) * 20
    for i, row in enumerate(rows):
        rows[i] = {**row, "order_number": f"{row['order_number']}-{i}"}
    rows[41]["status"] = "settled"
    rows[52]["currency"] = "XYZ"
    with pytest.raises(DomainError) as caught:
        _import(organization, actor, report_bytes(rows))
    assert "line 43" in caught.value.message
    assert "bad status" in caught.value.message
    assert not ProviderReport.objects.exists()
    assert not ProviderReportRow.objects.exists()
