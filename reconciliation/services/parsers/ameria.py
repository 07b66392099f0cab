"""Ameriabank vPOS transaction list (XML).

What this relies on (docs/providers.md, ../shared/PROVIDERS.md): vPOS reporting is SOAP
(``GetTransactionList(StartDate, EndDate)``); its per-transaction fields are not public, so this
parser reads, from any XML answer, every element that carries the documented
``GetPaymentDetails`` fields: ``PaymentID`` (our provider reference, upper case), ``Opaque``
(our order number) or ``OrderID``, ``Amount`` (a decimal, not minor units), ``Currency``
(numeric; blank is AMD), ``OrderStatus`` (2 deposited, 3 void, 4 refunded, 6 declined; 0, 1, 5
are not money yet and are skipped), ``RefundedAmount``, ``DateTime``. The answer is parsed
with lxml through defusedxml: no DTD, no entities, no network.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal

from core.dates import FIRST_DAY, LAST_DAY, date_in_range
from core.money import NUMERIC_TO_ALPHA
from reconciliation.services.parsers.base import FormatError, parse_amount, shown
from reconciliation.services.xml import safe_xml

YEREVAN = zoneinfo.ZoneInfo("Asia/Yerevan")
# Amounts as the gateway writes them: digits with an optional decimal part. ``Decimal`` also
# reads "1E+3", "1e5", "NaN", "+5", which then left here as plain numbers ("1000").
PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _paid_at(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in DATE_FORMATS:
            try:
                parsed = dt.datetime.strptime(value, fmt)  # noqa: DTZ007 (zone set below)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"bad DateTime {shown(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=YEREVAN)  # the gateway's local time
    if not date_in_range(parsed):
        raise ValueError(
            f"bad DateTime {shown(value)}: outside {FIRST_DAY}..{LAST_DAY}, the dates payops "
            "accepts"
        )
    return parsed


def _amount(fields: dict[str, str], name: str, default: str | None = None) -> Decimal:
    """The ``name`` field as a plain decimal (KeyError when missing and no ``default``)."""
    text = fields.get(name) or default
    if text is None:
        raise KeyError(name)
    if not PLAIN_DECIMAL.fullmatch(text):
        raise ValueError(
            f"bad {name} {shown(text)} (an amount: digits and a decimal point, no sign or exponent)"
        )
    return Decimal(text)


def _status_code(value: str) -> int:
    if not value.isdigit() or not value.isascii():
        raise ValueError(f"bad OrderStatus {shown(value)} (a status number)")
    return int(value)


def _decimal_text(value: Decimal) -> str:
    return format(value, "f") if value.is_finite() else str(value)


def _row(fields: dict[str, str]) -> dict | None:
    code = _status_code(fields["OrderStatus"])
    if code in (0, 1, 5):
        return None
    currency = NUMERIC_TO_ALPHA.get((fields.get("Currency") or "051").zfill(3))
    if currency is None:
        raise ValueError(f"unknown Currency {fields.get('Currency')!r}")
    if fields.get("ApprovedAmount"):
        amount = _amount(fields, "ApprovedAmount")
    else:
        amount = _amount(fields, "Amount")
    refunded = _amount(fields, "RefundedAmount", "0")
    if code == 2:
        status = "partially_refunded" if refunded else "paid"
    elif code == 4:
        status = "refunded" if refunded >= amount else "partially_refunded"
    elif code in (3, 6):
        status = "declined"
    else:
        raise ValueError(f"unknown OrderStatus {code}")
    for name, value in (("amount", amount), ("refunded_amount", refunded)):
        parse_amount(_decimal_text(value), name)  # negative, too large, too many places
    return {
        "order_number": fields.get("Opaque") or fields.get("OrderID") or "",
        "provider_reference": (fields.get("PaymentID") or "").upper(),
        # As received (the canonical check refuses a third decimal); ``:.2f`` would round it.
        "amount": _decimal_text(amount),
        "currency": currency,
        "status": status,
        "paid_at": _paid_at(fields["DateTime"]).isoformat(),
        "refunded_amount": _decimal_text(refunded),
        "fee": "0.00",
    }


def parse(data: bytes) -> Iterator[dict]:
    root = safe_xml(data)
    number = 0
    for element in root.iter():
        children = {_local(child.tag): (child.text or "").strip() for child in element}
        if "PaymentID" not in children or "OrderStatus" not in children:
            continue
        number += 1
        try:
            row = _row(children)
        except KeyError as exc:
            line = element.sourceline or number
            raise FormatError(f"transaction {number}: no {exc.args[0]}", line) from None
        except ValueError as exc:
            line = element.sourceline or number
            raise FormatError(f"transaction {number}: {exc}", line) from None
        if row is not None:
            yield row
    if number == 0:
        raise FormatError("no transactions (elements with PaymentID and OrderStatus)")
