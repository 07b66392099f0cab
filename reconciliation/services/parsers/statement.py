"""What the bank statement parsers return, and format detection from the content."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from reconciliation.services.parsers.base import FormatError


@dataclass
class StatementLine:
    line_no: int
    booked_on: dt.date
    amount: Decimal  # signed: a debit is negative
    currency: str
    reference: str = ""
    description: str = ""


@dataclass
class Statement:
    format: str
    account: str = ""
    reference: str = ""
    currency: str = ""
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    lines: list[StatementLine] = field(default_factory=list)


def detect_statement_format(data: bytes) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        if b"camt.053" in head or b"BkToCstmrStmt" in data[:65536]:
            return "camt053"
        raise FormatError("XML, but not an ISO 20022 camt.053 statement")
    if head.startswith(b":20:") or b"\n:20:" in head or head.startswith(b"{1:"):
        return "mt940"
    raise FormatError("not a bank statement payops can read (MT940 or camt.053)")
