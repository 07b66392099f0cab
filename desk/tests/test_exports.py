"""Exports of a period: the CSV streams, the XLSX is built in constant memory, and both add up
to the page's figures to the luma."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from desk.registry import _sheets, register_export_sheet
from desk.tests.conftest import PASSWORD
from desk.tests.helpers import (
    csv_blocks,
    csv_totals,
    page_figures,
    sum_column,
    xlsx_sheets,
    xlsx_totals,
)

pytestmark = pytest.mark.django_db


def _get(client, accountant, name, period):
    client.login(username=accountant.username, password=PASSWORD)
    return client.get(reverse(f"desk:{name}", args=[period.organization.slug, period.pk]))


def test_csv_is_streamed_and_matches_the_page(client, accountant, month):
    period = month["period"]
    response = _get(client, accountant, "export-csv", period)
    assert isinstance(response, StreamingHttpResponse)
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    blocks = csv_blocks(text)
    assert sum_column(blocks["payments"], "amount", "AMD") == Decimal("1254000.50")
    assert sum_column(blocks["refunds"], "amount", "AMD") == Decimal("250.25")
    totals = csv_totals(text)
    page = page_figures(_get(client, accountant, "period", period).content.decode())
    assert page[("verified", "AMD")] == Decimal("1254000.50")
    for (figure, currency), value in page.items():
        assert totals.get((figure, currency), totals.get((figure, ""), Decimal(0))) == value


def test_xlsx_matches_the_page(client, accountant, month):
    period = month["period"]
    response = _get(client, accountant, "export-xlsx", period)
    data = b"".join(response.streaming_content)
    sheets = xlsx_sheets(data)
    assert sheets["Payments verified"][0][:3] == ["id", "order_number", "verified_at"]
    totals = xlsx_totals(data)
    page = page_figures(_get(client, accountant, "period", period).content.decode())
    for (figure, currency), value in page.items():
        assert totals.get((figure, currency), totals.get((figure, ""), Decimal(0))) == value
    assert totals[("verified", "AMD")] == Decimal("1254000.50")


def test_a_registered_sheet_joins_both_exports(client, accountant, month):
    def rows(**_):
        yield ("sub-1", "AMD", Decimal("990.00"))

    register_export_sheet(
        "test_subscriptions",
        title="Test subscriptions",
        columns=("id", "currency", "amount"),
        rows=rows,
        totals={"amount": "subscriptions_collected"},
    )
    try:
        text = b"".join(_get(client, accountant, "export-csv", month["period"]).streaming_content)
        assert csv_totals(text.decode())[("subscriptions_collected", "AMD")] == Decimal("990.00")
        data = b"".join(_get(client, accountant, "export-xlsx", month["period"]).streaming_content)
        assert "Test subscriptions" in xlsx_sheets(data)
    finally:
        _sheets.pop("test_subscriptions")


def test_text_a_spreadsheet_would_run_stays_text(client, accountant, month):
    def rows(**_):
        yield ('=HYPERLINK("http://evil.example","x")', "AMD", Decimal("1.00"))

    register_export_sheet(
        "test_formula",
        title="Formula names",
        columns=("name", "currency", "amount"),
        rows=rows,
        totals={},
    )
    try:
        text = b"".join(_get(client, accountant, "export-csv", month["period"]).streaming_content)
        assert "'=HYPERLINK(" in text.decode()
        data = b"".join(_get(client, accountant, "export-xlsx", month["period"]).streaming_content)
        cell = xlsx_sheets(data)["Formula names"][1][0]
        assert cell == '\'=HYPERLINK("http://evil.example","x")'
    finally:
        _sheets.pop("test_formula")


def test_late_money_counts_once_on_the_page_and_in_both_exports(
    client, accountant, organization, branch
):
    """A closed month, then a refund of one of its payments and a late verification of
    another: the page, the CSV and the XLSX show the same figures, and the periods' figures
    add up to the money once (the late ones as adjustments only)."""
    from reconciliation.tests.factories import late_money

    world = late_money(organization, branch)
    net = Decimal(0)
    for period in (world["last"], world["this"]):
        page = page_figures(_get(client, accountant, "period", period).content.decode())
        text = b"".join(_get(client, accountant, "export-csv", period).streaming_content)
        data = b"".join(_get(client, accountant, "export-xlsx", period).streaming_content)
        for totals in (csv_totals(text.decode()), xlsx_totals(data)):
            for (figure, currency), value in page.items():
                assert totals.get((figure, currency), Decimal(0)) == value, (figure, period)
        net += page[("verified", "AMD")] - page[("refunded", "AMD")]
        net += page[("adjustments", "AMD")]
    assert net == world["money"]
    blocks = csv_blocks(text.decode())
    late = world["late"].order_number
    assert late not in {row[1] for row in blocks["payments"][1:]}
    assert late in {row[4] for row in blocks["adjustments"][1:]}


def test_zero_figures_carry_their_currency_in_both_exports(client, accountant, month):
    """The month has payments and a refund but no payout and no adjustment: those figures are
    0.00 in AMD, as the page shows them, never a totals row with an empty currency."""
    period = month["period"]
    text = b"".join(_get(client, accountant, "export-csv", period).streaming_content).decode()
    block = csv_blocks(text)["totals"]
    assert all(currency for _figure, currency, _amount in block[1:]), block
    totals = csv_totals(text)
    for figure in ("paid_out", "fees", "in_flight", "adjustments"):
        assert totals[(figure, "AMD")] == Decimal("0.00")
    data = b"".join(_get(client, accountant, "export-xlsx", period).streaming_content)
    assert all(row[1] for row in xlsx_sheets(data)["Totals"][1:])
    assert xlsx_totals(data)[("paid_out", "AMD")] == Decimal("0.00")
    page = page_figures(_get(client, accountant, "period", period).content.decode())
    for key, value in page.items():
        assert totals[key] == value


def test_xlsx_dates_are_excel_dates_and_the_csv_keeps_text(client, accountant, month):
    """Date-time columns were text in the XLSX ("2026-10-31 10:00:00"): now real date-times
    (a serial number with a date format); the CSV still writes the text."""
    import datetime as dt
    import io
    import zipfile

    from defusedxml import ElementTree

    from desk.tests.helpers import NS

    period = month["period"]
    data = b"".join(_get(client, accountant, "export-xlsx", period).streaming_content)
    assert xlsx_sheets(data)["Payments verified"][0][2] == "verified_at"
    book = zipfile.ZipFile(io.BytesIO(data))
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    names = [s.get("name") for s in workbook.find("m:sheets", NS)]
    index = names.index("Payments verified") + 1
    sheet = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{index}.xml"))
    cell = next(c for c in sheet.iter(f"{{{NS['m']}}}c") if c.get("r") == "C2")
    assert cell.get("t") is None, "a number, not a string"
    serial = float(cell.find("m:v", NS).text)
    styles = ElementTree.fromstring(book.read("xl/styles.xml"))
    xf = styles.find("m:cellXfs", NS)[int(cell.get("s"))]
    formats = {f.get("numFmtId"): f.get("formatCode") for f in styles.find("m:numFmts", NS)}
    assert formats[xf.get("numFmtId")] == "yyyy-mm-dd hh:mm:ss"
    when = dt.datetime(1899, 12, 30) + dt.timedelta(seconds=round(serial * 86400))
    assert period.start <= when.date() <= period.end
    text = b"".join(_get(client, accountant, "export-csv", period).streaming_content).decode()
    assert f",{when:%Y-%m-%d %H:%M:%S}," in text  # the CSV: the same moment, as text
