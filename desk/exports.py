"""Exports of a period: CSV (streamed row by row) and XLSX (xlsxwriter, constant memory).

Both hold every registered export sheet (``desk.registry``), then the totals per figure and
currency, summed from the very rows written: they are the period page's figures, to the luma,
when the rows and the page agree (the browser tests check it).

XLSX: amounts are numbers (``#,##0.00``), dates and local date-times real Excel dates
(``yyyy-mm-dd``, ``yyyy-mm-dd hh:mm:ss``); the CSV writes them as text.

CSV layout: for each sheet a line with its name, a header line, its rows and an empty line; then
``totals`` and lines ``figure,currency,amount``: every figure in every currency of the period,
0.00 where nothing counts (always with its currency).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from typing import IO

import xlsxwriter

from desk.registry import ExportSheet, export_sheets
from desk.selectors import period_bounds, period_money

Totals = dict[tuple[str, str], Decimal]


class _Echo:
    def write(self, value: str) -> str:
        return value


# Text a spreadsheet would run as a formula (OWASP "CSV injection"): such cells get a leading
# apostrophe, so a branch or recipient named "=HYPERLINK(...)" stays text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return str(value)


# The sheets write a moment as the organisation's local time in this one text form (the CSV keeps
# it); the XLSX turns it, and date values, into real Excel dates.
LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _excel_date(value) -> dt.date | dt.datetime | None:
    """A date or local date-time for an Excel date cell, else None."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and LOCAL_DATETIME.match(value):
        return dt.datetime.fromisoformat(value)  # naive: the local time, as written
    return None


def _sheet_rows(sheet: ExportSheet, period, totals: Totals) -> Iterator[tuple]:
    """The sheet's rows, adding its totals columns into ``totals`` on the way."""
    lo, hi = period_bounds(period)
    currency_at = sheet.columns.index(sheet.currency) if sheet.currency in sheet.columns else None
    positions = {sheet.columns.index(c): fig for c, fig in sheet.totals.items()}
    for figure in sheet.totals.values():
        totals.setdefault((figure, ""), Decimal(0))
    for row in sheet.rows(period=period, organization=period.organization, lo=lo, hi=hi):
        currency = row[currency_at] if currency_at is not None else ""
        for index, figure in positions.items():
            key = (figure, currency)
            totals[key] = totals.get(key, Decimal(0)) + Decimal(str(row[index] or 0))
        yield row


def _final_totals(totals: Totals, period) -> list[tuple[str, str, Decimal]]:
    """Per figure and currency, as the period page shows them: every figure in every currency
    of the period (its figures' currencies and the rows'), 0.00 where no row has it; never a row
    without a currency (a zero figure used to come out as ``figure,,0.00``). A period where no
    money moved at all shows its organisation's default currency."""
    currencies = {c for (_f, c) in totals if c} | set(period_money(period))
    currencies = currencies or {period.organization.default_currency}
    figures = {f for (f, _c) in totals}
    rows = [(f, c, totals.get((f, c), Decimal(0))) for f in figures for c in currencies]
    # A registered sheet without a currency column: its sums, if any, keep their empty currency.
    rows += [(f, c, v) for (f, c), v in totals.items() if not c and v]
    return sorted((f, c, v.quantize(Decimal("0.01"))) for f, c, v in rows)


def period_csv(period) -> Iterator[str]:
    writer = csv.writer(_Echo())
    totals: Totals = {}
    for sheet in export_sheets():
        yield writer.writerow([sheet.name])
        yield writer.writerow(sheet.columns)
        for row in _sheet_rows(sheet, period, totals):
            yield writer.writerow([_cell(v) for v in row])
        yield writer.writerow([])
    yield writer.writerow(["totals"])
    yield writer.writerow(["figure", "currency", "amount"])
    for figure, currency, value in _final_totals(totals, period):
        yield writer.writerow([figure, currency, value])


def period_xlsx(period) -> IO[bytes]:
    """The workbook in a temporary file (rows are flushed to disk as they are written)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the response, which closes it)
    book = xlsxwriter.Workbook(
        out, {"constant_memory": True, "tmpdir": tempfile.gettempdir(), "in_memory": False}
    )
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF5", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    totals: Totals = {}
    for sheet in export_sheets():
        ws = book.add_worksheet(sheet.title[:31])
        ws.freeze_panes(1, 0)
        amount_at = {sheet.columns.index(c) for c in sheet.amount_columns if c in sheet.columns}
        for col, name in enumerate(sheet.columns):
            ws.write_string(0, col, name, bold)
            ws.set_column(col, col, 14 if col in amount_at else 18)
        for r, row in enumerate(_sheet_rows(sheet, period, totals), start=1):
            for col, value in enumerate(row):
                if col in amount_at and value is not None:
                    # An amount with two places: its float is the decimal to the luma.
                    ws.write_number(r, col, float(value), money)
                elif (when := _excel_date(value)) is not None:
                    ws.write_datetime(
                        r, col, when, moment if isinstance(when, dt.datetime) else day
                    )
                elif isinstance(value, str):
                    ws.write_string(r, col, _cell(value))  # never a formula
                else:
                    ws.write(r, col, _cell(value))
    ws = book.add_worksheet("Totals")
    for col, name in enumerate(("figure", "currency", "amount")):
        ws.write_string(0, col, name, bold)
    ws.set_column(0, 1, 16)
    ws.set_column(2, 2, 18)
    for r, (figure, currency, value) in enumerate(_final_totals(totals, period), start=1):
        ws.write_string(r, 0, figure)
        ws.write_string(r, 1, currency)
        ws.write_number(r, 2, float(value), money)
    book.close()
    out.seek(0)
    return out
