"""BPC/ArCa order list: the JSON answer of ``getLastOrdersForMerchants.do``.

What this relies on (../shared/PROVIDERS.md and BPC's REST documentation as mirrored by public
clients, e.g. the Sberbank/Alfa-Bank clients of the same platform): the answer is
``{"errorCode": "0", "orderStatuses": [...], "totalCount": n, "page": p, "pageSize": s}``; each
order carries ``orderNumber`` (ours), ``orderStatus`` (0 registered, 1 pre-authorised,
2 deposited, 3 reversed, 4 refunded, 5 3-D Secure started, 6 declined, 7 partially refunded on
some banks), ``amount`` in minor units, ``currency`` as the ISO numeric code, ``date`` (epoch
milliseconds), ``attributes`` with ``mdOrder`` (the gateway's orderId, our provider reference),
``authDateTime`` and ``paymentAmountInfo`` (``approvedAmount``, ``depositedAmount``,
``refundedAmount``, minor units). Orders still in 0, 1 or 5 are not money yet and are skipped.
BPC reports no fee per order: ``fee`` is 0. Several pages may be concatenated as a JSON list of
answers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal

from core.dates import FIRST_DAY, LAST_DAY, date_in_range
from core.money import MAX_MINOR_UNITS, NUMERIC_TO_ALPHA, from_minor
from reconciliation.services.parsers.base import FormatError, shown

SKIPPED = {0, 1, 5}


class OrderProblem(ValueError):
    """What is wrong with one order, as a sentence for the accountant (never Python's text)."""


def _status(code: int, amount: int, refunded: int) -> str:
    if code == 2:
        return "partially_refunded" if refunded else "paid"
    if code in (4, 7):
        return (
            "refunded"
            if refunded >= amount or (code == 4 and not refunded)
            else ("partially_refunded")
        )
    if code in (3, 6):
        return "declined"
    raise OrderProblem(f"unknown orderStatus {code}")


def _reference(order: dict) -> str:
    for attribute in order.get("attributes") or []:
        if isinstance(attribute, dict) and attribute.get("name") == "mdOrder":
            return str(attribute.get("value") or "")
    return str(order.get("orderId") or "")


def _whole(value, what: str, sense: str) -> int:
    """A whole, non-negative number, as BPC sends them: ``int()`` alone would truncate
    ``1500.5`` (a JSON number read as a Decimal) to 1500 without a word."""
    if value is None:
        raise OrderProblem(f"no {what}")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise OrderProblem(f"bad {what} {shown(str(value))} ({sense})")
    text = str(value).strip()
    if text.startswith("-") and text[1:].isdigit() and text[1:].isascii():
        raise OrderProblem(f"bad {what} {shown(text)}: {what} cannot be negative")
    if not text.isdigit() or not text.isascii():
        raise OrderProblem(f"bad {what} {shown(text)} ({sense})")
    return int(text)


def _minor(value, what: str) -> int:
    amount = _whole(value, what, "whole minor units")
    if amount > MAX_MINOR_UNITS:
        raise OrderProblem(
            f"bad {what} {shown(str(amount))}: above {MAX_MINOR_UNITS} minor units, the most "
            "payops accepts"
        )
    return amount


def _paid_at(order: dict) -> str:
    value = order.get("authDateTime") or order.get("date")
    if value is None:
        raise OrderProblem("no date or authDateTime")
    text = str(value).strip()
    before_1970 = text.startswith("-") and text[1:].isdigit() and text[1:].isascii()
    millis = 0 if before_1970 else _whole(value, "date", "epoch milliseconds")
    try:
        moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        moment = None
    if before_1970 or moment is None or not date_in_range(moment):
        raise OrderProblem(
            f"bad date {shown(text)} (epoch milliseconds): outside {FIRST_DAY}..{LAST_DAY}, "
            "the dates payops accepts"
        )
    return moment.isoformat()


def _row(order) -> dict | None:
    if not isinstance(order, dict):
        raise OrderProblem("not an order (a JSON object)")
    code = _whole(order.get("orderStatus"), "orderStatus", "a status number")
    if code in SKIPPED:
        return None
    currency = NUMERIC_TO_ALPHA.get(str(order.get("currency") or "051").zfill(3))
    if currency is None:
        raise OrderProblem(f"unknown currency code {shown(str(order.get('currency')))}")
    amount = _minor(order.get("amount"), "amount")
    info = order.get("paymentAmountInfo") or {}
    if not isinstance(info, dict):
        raise OrderProblem("paymentAmountInfo is not a JSON object")
    refunded = _minor(info.get("refundedAmount") or 0, "refundedAmount")
    paid_at = _paid_at(order)
    return {
        "order_number": str(order.get("orderNumber") or ""),
        "provider_reference": _reference(order).upper(),
        "amount": str(from_minor(amount, currency)),
        "currency": currency,
        "status": _status(code, amount, refunded),
        "paid_at": paid_at,
        "refunded_amount": str(from_minor(refunded, currency)),
        "fee": str(Decimal("0.00")),
    }


def parse(data: bytes) -> Iterator[dict]:
    """Canonical rows of a BPC order list; ``FormatError`` naming the order (1-based)."""
    try:
        document = json.loads(data.decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"not JSON ({exc.msg})", exc.lineno) from None
    pages = document if isinstance(document, list) else [document]
    number = 0
    for page in pages:
        if not isinstance(page, dict) or not isinstance(page.get("orderStatuses"), list):
            raise FormatError("no orderStatuses list (not a getLastOrdersForMerchants answer)")
        if str(page.get("errorCode", "0")) != "0":
            raise FormatError(f"the gateway answered errorCode {page.get('errorCode')}")
        for order in page["orderStatuses"]:
            number += 1
            try:
                row = _row(order)
            except OrderProblem as exc:
                raise FormatError(f"order {number}: {exc}", number + 1) from None
            except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
                # Python's own text (``invalid literal for int()``) says nothing to an accountant.
                raise FormatError(
                    f"order {number}: a field is missing or malformed", number + 1
                ) from None
            if row is not None:
                yield row
