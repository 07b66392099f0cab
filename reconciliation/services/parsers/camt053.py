"""ISO 20022 camt.053 (bank to customer statement), read with lxml through defusedxml.

No DTD, no entities, no network (``reconciliation.services.xml.safe_xml``). Elements are read
by local name, so camt.053.001.02 to .08 alike: ``Stmt/Id``, ``Acct/Id/IBAN`` (or ``Othr/Id``),
``Bal`` with ``Tp/CdOrPrtry/Cd`` OPBD / CLBD, and each ``Ntry``: ``Amt@Ccy``, ``CdtDbtInd``
(DBIT is money out: negative), ``BookgDt/Dt`` (or ``DtTm``), ``AcctSvcrRef``, and from
``NtryDtls/TxDtls``: ``Refs/EndToEndId``, ``RmtInf/Ustrd``, plus ``AddtlNtryInf``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from reconciliation.services.parsers.base import FormatError
from reconciliation.services.parsers.statement import Statement, StatementLine
from reconciliation.services.xml import safe_xml


def _name(element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _find(element, *path):
    for step in path:
        if element is None:
            return None
        element = next((child for child in element if _name(child) == step), None)
    return element


def _text(element, *path) -> str:
    found = _find(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _all(element, name):
    return [child for child in element.iter() if _name(child) == name]


def _amount(element, where: str, line: int | None) -> tuple[Decimal, str]:
    if element is None:
        raise FormatError(f"{where}: no Amt", line)
    try:
        value = Decimal((element.text or "").strip())
    except InvalidOperation:
        raise FormatError(f"{where}: bad amount {element.text!r}", element.sourceline) from None
    currency = element.get("Ccy") or ""
    if len(currency) != 3:
        raise FormatError(f"{where}: no currency (Ccy)", element.sourceline)
    return value, currency


def _signed(value: Decimal, indicator: str, where: str, line) -> Decimal:
    if indicator == "DBIT":
        return -value
    if indicator == "CRDT":
        return value
    raise FormatError(f"{where}: CdtDbtInd is {indicator!r} (CRDT or DBIT)", line)


def _date(entry, where: str) -> dt.date:
    raw = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")[:10]
    raw = raw or _text(entry, "ValDt", "Dt")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FormatError(f"{where}: bad booking date {raw!r}", entry.sourceline) from None


def parse(data: bytes) -> Statement:
    root = safe_xml(data)
    statements = _all(root, "Stmt")
    if not statements:
        raise FormatError("no Stmt element (not a camt.053 statement)")
    result = Statement(format="camt053")
    number = 0
    for stmt in statements:
        result.reference = result.reference or _text(stmt, "Id")
        account = _find(stmt, "Acct")
        result.account = (
            result.account or _text(account, "Id", "IBAN") or _text(account, "Id", "Othr", "Id")
        )
        result.currency = result.currency or _text(account, "Ccy")
        for balance in (c for c in stmt if _name(c) == "Bal"):
            code = _text(balance, "Tp", "CdOrPrtry", "Cd")
            value, currency = _amount(_find(balance, "Amt"), f"balance {code}", balance.sourceline)
            value = _signed(
                value, _text(balance, "CdtDbtInd"), f"balance {code}", balance.sourceline
            )
            result.currency = result.currency or currency
            if code == "OPBD" and result.opening_balance is None:
                result.opening_balance = value
            elif code == "CLBD":
                result.closing_balance = value
        for entry in (c for c in stmt if _name(c) == "Ntry"):
            number += 1
            where = f"entry {number}"
            value, currency = _amount(_find(entry, "Amt"), where, entry.sourceline)
            amount = _signed(value, _text(entry, "CdtDbtInd"), where, entry.sourceline)
            refs = [_text(entry, "AcctSvcrRef")]
            refs += [(e.text or "").strip() for e in _all(entry, "EndToEndId")]
            refs += [(e.text or "").strip() for e in _all(entry, "InstrId")]
            texts = [(e.text or "").strip() for e in _all(entry, "Ustrd")]
            texts.append(_text(entry, "AddtlNtryInf"))
            result.lines.append(
                StatementLine(
                    line_no=number,
                    booked_on=_date(entry, where),
                    amount=amount,
                    currency=currency,
                    reference=" ".join(r for r in refs if r and r != "NOTPROVIDED")[:200],
                    description=" ".join(t for t in texts if t)[:2000],
                )
            )
    return result
