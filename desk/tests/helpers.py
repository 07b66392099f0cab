"""Reading the desk's exports back (the CSV blocks, the XLSX totals) for the tests."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal

from defusedxml import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def csv_blocks(text: str) -> dict[str, list[list[str]]]:
    """``{block name: [header, row, ...]}`` of the desk's CSV export."""
    blocks: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(io.StringIO(text)):
        if not row:
            current = None
        elif current is None:
            current = blocks.setdefault(row[0], [])
        else:
            current.append(row)
    return blocks


def sum_column(block: list[list[str]], column: str, currency: str) -> Decimal:
    header, rows = block[0], block[1:]
    at, cur = header.index(column), header.index("currency")
    return sum((Decimal(r[at]) for r in rows if r[cur] == currency), Decimal(0))


def csv_totals(text: str) -> dict[tuple[str, str], Decimal]:
    block = csv_blocks(text)["totals"]
    return {(f, c): Decimal(v) for f, c, v in block[1:]}


def xlsx_sheets(data: bytes) -> dict[str, list[list[str]]]:
    """Every sheet's rows as text (numbers as written), by sheet name."""
    book = zipfile.ZipFile(io.BytesIO(data))
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    names = [s.get("name") for s in workbook.find("m:sheets", NS)]
    shared = []
    if "xl/sharedStrings.xml" in book.namelist():
        root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root]
    sheets = {}
    for index, name in enumerate(names, start=1):
        root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{index}.xml"))
        rows = []
        for row in root.iter(f"{{{NS['m']}}}row"):
            cells = []
            for cell in row.findall("m:c", NS):
                kind = cell.get("t")
                if kind == "inlineStr":
                    cells.append("".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t")))
                elif kind == "s":
                    cells.append(shared[int(cell.find("m:v", NS).text)])
                else:
                    value = cell.find("m:v", NS)
                    cells.append(value.text if value is not None else "")
            rows.append(cells)
        sheets[name] = rows
    return sheets


def xlsx_totals(data: bytes) -> dict[tuple[str, str], Decimal]:
    rows = xlsx_sheets(data)["Totals"]
    return {(f, c): Decimal(v).quantize(Decimal("0.01")) for f, c, v in rows[1:]}


def page_figures(html: str) -> dict[tuple[str, str], Decimal]:
    """The headline figures of a period page: ``data-figure``/``data-currency`` cards."""
    found = re.findall(
        r'data-figure="(\w+)" data-currency="(\w+)">.*?data-amount="(-?[\d.]+)"', html, re.S
    )
    return {(f, c): Decimal(v) for f, c, v in found}
