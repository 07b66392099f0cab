"""SWIFT MT940 bank statements, parsed with the ``mt-940`` library (WoLpH/mt940).

The library is lenient: it reads tags wherever they come. payops checks the shape first, per
statement (a file may hold several, each starting with ``:20:``): the header tags come before
the first ``:61:`` line, and every statement has its ``:20:`` and ``:25:``. Text is UTF-8, else
Latin-1 (SWIFT's character set is a subset of both; banks' free text is not always UTF-8).
Debits (``D``, ``RC``) come out negative from the library.
"""

from __future__ import annotations

import datetime as dt
import re

import mt940

from reconciliation.services.parsers.base import FormatError
from reconciliation.services.parsers.statement import Statement, StatementLine

HEADER_TAGS = {"20", "21", "25", "28", "28C", "13D", "34F", "NS"}
TAG_RE = re.compile(r"^:([0-9A-Z]{2,3}):")
# A :61: line up to its transaction type: value date, optional entry date, mark, optional funds
# code, amount (comma decimal, at most two places), then N/F/S and the type. The library reads
# what it can and drops the rest (``45x00,00`` became 45.00): payops refuses such a line.
LINE_61_RE = re.compile(
    r"^:61:(?P<date>\d{6})(?:\d{4})?(?:RC|RD|EC|ED|C|D)[A-Z]?(?P<amount>\d{1,15},\d{0,2})[NFS]"
)


def _check_61(line: str, number: int) -> None:
    match = LINE_61_RE.match(line)
    if match is None:
        raise FormatError(
            f"bad :61: transaction {line[:60]!r} (date, D/C mark, amount with a comma and at "
            "most two decimals, N/F/S type)",
            number,
        )
    try:
        date = match["date"]
        dt.date(2000 + int(date[:2]), int(date[2:4]), int(date[4:]))
    except ValueError:
        raise FormatError(f"bad :61: value date {match['date']!r}", number) from None


def _check_shape(text: str) -> None:
    seen_61 = False
    has_20 = has_25 = False
    for number, line in enumerate(text.splitlines(), start=1):
        match = TAG_RE.match(line)
        if not match:
            continue
        tag = match.group(1)
        if tag == "20":
            seen_61 = False
            has_20, has_25 = True, False
        elif tag == "25":
            has_25 = True
        if tag == "61":
            if not (has_20 and has_25):
                raise FormatError("a :61: transaction before the statement's :20: and :25:", number)
            _check_61(line, number)
            seen_61 = True
        elif seen_61 and tag in HEADER_TAGS - {"20", "NS"}:
            raise FormatError(f"tag :{tag}: after the statement's transactions", number)
    if not has_20:
        raise FormatError("not an MT940 statement (no :20: transaction reference)")


def parse(data: bytes) -> Statement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    _check_shape(text)
    statement = Statement(format="mt940")
    number = 0
    for part in re.split(r"(?m)^(?=:20:)", text):
        if ":20:" not in part:
            continue
        transactions = mt940.models.Transactions()
        try:
            transactions.parse(part)
        except Exception as exc:  # the library raises bare exceptions on bad fields
            raise FormatError(f"MT940 the mt-940 library refused: {exc}") from None
        info = transactions.data
        statement.account = statement.account or str(info.get("account_identification") or "")
        statement.reference = statement.reference or str(info.get("transaction_reference") or "")
        opening = info.get("final_opening_balance")
        closing = info.get("final_closing_balance")
        if opening is not None and statement.opening_balance is None:
            statement.opening_balance = opening.amount.amount
            statement.currency = opening.amount.currency
        if closing is not None:
            statement.closing_balance = closing.amount.amount
        for transaction in transactions.transactions:
            values = transaction.data
            number += 1
            amount = values.get("amount")
            if amount is None or values.get("date") is None:
                raise FormatError(f"transaction {number} has no amount or date")
            references = [
                str(values.get(k) or "")
                for k in ("customer_reference", "bank_reference", "extra_details")
            ]
            statement.lines.append(
                StatementLine(
                    line_no=number,
                    booked_on=values.get("entry_date") or values["date"],
                    amount=amount.amount,
                    currency=amount.currency,
                    reference=" ".join(r for r in references if r and r != "NONREF")[:200],
                    description=str(values.get("transaction_details") or "")[:2000],
                )
            )
    return statement
