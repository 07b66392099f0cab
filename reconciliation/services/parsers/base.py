"""What every provider-report parser shares: the canonical columns, the row rules, detection."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from core.dates import FIRST_DAY, LAST_DAY, date_in_range
from core.money import CURRENCIES, MAX_MINOR_UNITS

CANONICAL_COLUMNS = (
    "order_number",
    "provider_reference",
    "amount",
    "currency",
    "status",
    "paid_at",
    "refunded_amount",
    "fee",
)
REQUIRED_COLUMNS = ("amount", "currency", "status", "paid_at")
STATUSES = ("paid", "declined", "refunded", "partially_refunded")
# Amounts: plain decimals (a sign is read only to be refused with its own sentence), with at
# most two places, within core.money's bound.
SIGNED_DECIMAL_RE = r"^-?[0-9]+(\.[0-9]+)?$"
AMOUNT_RE = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"  # bank statements' amounts (camt.053)
# ISO 8601 with an offset (CONTRACT.md): 2026-11-02T14:05:00+04:00, ...Z.
PAID_AT_RE = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
)
MAX_AMOUNT = Decimal(MAX_MINOR_UNITS) / 100


class FormatError(ValueError):
    """A file that cannot be read: ``line`` (1-based, the header is line 1) and the problem."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        self.problem = problem
        self.line = line
        super().__init__(f"line {line}: {problem}" if line else problem)


def check_header(columns: list[str]) -> list[str]:
    names = [c.strip().lower() for c in columns]
    unknown = [c for c in names if c not in CANONICAL_COLUMNS]
    if unknown:
        raise FormatError(f"unknown column(s) {', '.join(unknown)}", 1)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FormatError(f"missing column(s) {', '.join(missing)}", 1)
    if len(set(names)) != len(names):
        raise FormatError("a column is named twice", 1)
    return names


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for a message, cut when long (a line may hold a megabyte of digits)."""
    return repr(value if len(value) <= limit else f"{value[:limit]}...")


def parse_amount(value: str, what: str) -> Decimal:
    """A plain decimal of at most two places, not negative, at most ``MAX_AMOUNT``; else
    ``ValueError`` with a sentence saying which of those it is not."""
    value = (value or "").strip()
    if not re.match(SIGNED_DECIMAL_RE, value):
        raise ValueError(f"bad {what} {shown(value)} (a decimal with at most two places)")
    if value.startswith("-"):
        raise ValueError(f"bad {what} {shown(value)}: {what} cannot be negative")
    whole, _, places = value.partition(".")
    if len(places) > 2:
        raise ValueError(
            f"bad {what} {shown(value)}: {len(places)} decimal places (at most two: minor units)"
        )
    if len(whole.lstrip("0")) > len(str(int(MAX_AMOUNT))) or Decimal(value) > MAX_AMOUNT:
        raise ValueError(f"bad {what} {shown(value)}: above {MAX_AMOUNT}, the most payops accepts")
    return Decimal(value)


def parse_paid_at(value: str) -> dt.datetime:
    value = (value or "").strip()
    if not re.match(PAID_AT_RE, value):
        raise ValueError(f"bad paid_at {shown(value)} (ISO 8601 with its UTC offset)")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"bad paid_at {shown(value)} (no such date or time)") from None
    return paid_at_check(moment, value)


def paid_at_check(moment: dt.datetime, value: str = "") -> dt.datetime:
    """``moment`` if within the dates payops accepts (``core.dates``), else ``ValueError``."""
    if not date_in_range(moment):
        raise ValueError(
            f"bad paid_at {shown(value or str(moment))}: outside {FIRST_DAY}..{LAST_DAY}, "
            "the dates payops accepts"
        )
    return moment


def parse_row(values: dict[str, str]) -> dict:
    """One canonical row, typed; ``ValueError`` naming the problem (the line is the caller's)."""
    amount = parse_amount(values.get("amount", ""), "amount")
    currency = (values.get("currency") or "").strip()
    if currency not in CURRENCIES:
        raise ValueError(f"bad currency {currency!r} (one of {', '.join(CURRENCIES)})")
    status = (values.get("status") or "").strip()
    if status not in STATUSES:
        raise ValueError(f"bad status {status!r} (one of {', '.join(STATUSES)})")
    refunded = parse_amount(values.get("refunded_amount") or "0", "refunded_amount")
    fee = parse_amount(values.get("fee") or "0", "fee")
    if refunded > amount:
        raise ValueError("refunded_amount is above amount")
    order_number = (values.get("order_number") or "").strip()
    reference = (values.get("provider_reference") or "").strip().upper()
    if len(order_number) > 64 or len(reference) > 128:
        raise ValueError("order_number or provider_reference too long")
    return {
        "order_number": order_number,
        "provider_reference": reference,
        "amount": amount,
        "currency": currency,
        "status": status,
        "paid_at": parse_paid_at(values.get("paid_at", "")),
        "refunded_amount": refunded,
        "fee": fee,
    }


def rows_to_csv(rows: Iterable[dict]) -> Iterator[bytes]:
    """Canonical rows (string values) as payops CSV bytes, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CANONICAL_COLUMNS)
    for row in rows:
        writer.writerow([row.get(column, "") for column in CANONICAL_COLUMNS])
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def detect_format(head: bytes) -> str:
    """The format of a report from its first bytes: ``payops_csv``, ``bpc_json``, ``ameria_xml``."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise FormatError("the file is empty")
    if text.startswith(b"{") and b"orderStatuses" in head:
        return "bpc_json"
    if text.startswith(b"<") and (b"GetTransactionList" in head or b"PaymentDetails" in head):
        return "ameria_xml"
    first = text.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    if "amount" in first and "," in first:
        return "payops_csv"
    raise FormatError("unknown report format (payops CSV, BPC order list JSON, Ameria XML)")
