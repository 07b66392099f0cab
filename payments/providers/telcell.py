"""Telcell Money (Telcell Wallet) adapter, "WEB shop gateway v1.2", pure protocol code.

What it does
------------
* ``create_order`` builds the ``PostInvoice`` request the customer is sent to: ``payment_url`` is
  ``https://telcellmoney.am/invoices?<fields>`` (a GET redirect works) and ``raw`` holds exactly
  the fields for a POST form instead:

  ``action=PostInvoice``, ``issuer`` (shop_id), ``currency`` = ``֏`` (U+058F, the dram sign),
  ``price`` (whole drams), ``product`` = base64(description, UTF-8), ``issuer_id`` =
  base64(order_number), ``valid_days``, ``lang`` (am|ru|en) and
  ``security_code = MD5(shop_key + issuer + currency + price + product + issuer_id + valid_days)``
  (plain concatenation, product and issuer_id in their base64 form, as sent; optional ``ssn``
  omitted). Telcell creates its invoice only when the customer arrives, so there is no gateway
  reference yet: ``provider_reference`` is ``""`` (store NULL).
* ``parse_callback`` verifies the RESULT_URL call (GET or POST) with ``issuer_id``, ``status``,
  ``invoice``, ``payment_id``, ``currency``, ``sum``, ``time`` and
  ``checksum = MD5(shop_key + invoice + issuer_id + payment_id + currency + sum + time + status)``
  over the exact strings received, compared as lower-case hex in constant time. (When a
  ``buyer`` field is present, the v2 form with ``buyer`` after ``payment_id`` is accepted too.)
  ``status`` ``PAID`` -> ``StatusResult(PAID)``, the proof (Telcell has no lookup);
  REJECTED/CANCELLED/DECLINED/FAILED -> DECLINED; EXPIRED -> EXPIRED; anything else is refused.
  ``event_id`` = ``<invoice>:<payment_id>:<status>``.
* AMD only; ``price`` is whole drams, so an amount with luma is refused rather than rounded.
  No status, refund or report API is documented: those methods raise ``NotImplementedError``.

Public sources relied on (found with the search tool)
-----------------------------------------------------
* ``neetrino/borboraqua.am`` ``docs/payments/TELCELL-INTEGRATION.md`` (two versions, citing
  Telcell's "WEB Магазинный шлюз v1.2" and the "payment-gateway-for-telcell" PHP plugin):
  the PostInvoice fields, both MD5 formulas, ``PAID``, callback currency ``51``, the
  ``https://telcellmoney.am/invoices`` host for test and live.
* A TypeScript ``getTelcellSecurityCode`` / ``verifyTelcellResultChecksum`` implementation citing
  the v1.2 PHP example (base64 values inside the hash; the v2 ``buyer`` variant).
* A Laravel ``InvoicePaymentTest`` (callback payload, checksum, ``price`` ``"750"`` for 750.00)
  and React/PHP form integrations posting to ``https://telcellmoney.am/invoices`` with
  ``currency`` ``֏``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from decimal import Decimal, InvalidOperation
from typing import ClassVar
from urllib.parse import urlencode

import httpx

from core.money import CurrencyError, parse_amount

from .base import (
    CallbackAnswer,
    CallbackOnly,
    CallbackRejected,
    CallbackRequest,
    Capabilities,
    OrderCreated,
    OrderRequest,
    ParsedCallback,
    ProviderError,
    ProviderState,
    StatusResult,
)

INVOICE_URL = "https://telcellmoney.am/invoices"
CURRENCY = "AMD"
TELCELL_CURRENCY = "\u058f"  # ֏, the Armenian dram sign, as Telcell expects it
CALLBACK_CURRENCIES = frozenset({TELCELL_CURRENCY, "51", "051", "AMD"})
LANGUAGES = {"hy": "am", "am": "am", "ru": "ru", "en": "en"}
CALLBACK_FIELDS = ("invoice", "issuer_id", "payment_id", "currency", "sum", "time", "status")
STATES = {
    "PAID": ProviderState.PAID,
    "REJECTED": ProviderState.DECLINED,
    "CANCELLED": ProviderState.DECLINED,
    "CANCELED": ProviderState.DECLINED,
    "DECLINED": ProviderState.DECLINED,
    "FAILED": ProviderState.DECLINED,
    "EXPIRED": ProviderState.EXPIRED,
}
_MD5_HEX = re.compile(r"^[0-9A-Fa-f]{32}$")
_SUM = re.compile(r"^\d{1,17}(\.\d{1,2})?$")
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

NO_API = "Telcell documents no {what} API for merchants; {remedy}"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def security_code(
    *,
    shop_key: str,
    issuer: str,
    currency: str,
    price: str,
    product: str,
    issuer_id: str,
    valid_days: str,
) -> str:
    """PostInvoice ``security_code``: MD5 of the plain concatenation, values as sent."""
    return _md5(shop_key + issuer + currency + price + product + issuer_id + valid_days)


def result_checksum(
    *,
    shop_key: str,
    invoice: str,
    issuer_id: str,
    payment_id: str,
    currency: str,
    sum: str,  # Telcell's field name
    time: str,
    status: str,
    buyer: str | None = None,
) -> str:
    """RESULT_URL ``checksum`` (v1.2; with ``buyer`` after payment_id in the v2 form)."""
    middle = payment_id + (buyer if buyer is not None else "")
    return _md5(shop_key + invoice + issuer_id + middle + currency + sum + time + status)


def _price(amount: object) -> str:
    """Whole drams as a string. Luma are refused: Telcell's ``price`` is an integer."""
    try:
        value = parse_amount(amount, CURRENCY)  # refuses floats and more than two places
    except (TypeError, ValueError, CurrencyError) as exc:
        raise ProviderError(str(exc), code="invalid_amount") from None
    if value <= 0:
        raise ProviderError("Telcell amounts must be positive.", code="invalid_amount")
    if value != value.to_integral_value():
        raise ProviderError(
            f"Telcell takes whole drams only; {value} AMD has luma.", code="invalid_amount"
        )
    return str(int(value))


def _order_number(issuer_id: str) -> str:
    """We send base64(order_number); some integrations report Telcell echoing it decoded."""
    try:
        decoded = base64.b64decode(issuer_id, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if decoded and _ORDER_NUMBER.match(decoded) and b64(decoded) == issuer_id:
        return decoded
    if _ORDER_NUMBER.match(issuer_id):
        return issuer_id
    raise CallbackRejected("Telcell callback with a malformed issuer_id.")


class TelcellAdapter(CallbackOnly):
    """Telcell Money.

    Config: ``shop_id`` (the issuer; ``merchant_id`` is accepted for it), ``shop_key`` (the
    secret; ``secret_key`` is accepted for it), optional ``valid_days`` (1) and ``base_url``.
    """

    name: ClassVar[str] = "telcell"
    capabilities: ClassVar[Capabilities] = Capabilities.callback_only(CURRENCY)
    no_api = NO_API
    no_api_remedies = {
        "status lookup": "the signed RESULT_URL call is the proof.",
        "refund": "refunds are arranged with Telcell by hand.",
        "reversal": "a paid invoice is final.",
        "recurring": "every invoice needs the customer.",
    }

    def __init__(self, *, config: dict, http: httpx.Client | None = None) -> None:
        # ``merchant_id``/``secret_key`` are how the payments registry passes ProviderAccount.
        shop_id = config.get("shop_id") or config.get("merchant_id")
        shop_key = config.get("shop_key") or config.get("secret_key")
        if not shop_id or not shop_key:
            raise ValueError("Telcell config needs shop_id (issuer) and shop_key.")
        self.shop_id = str(shop_id)
        self.shop_key = str(shop_key)
        self.valid_days = int(config.get("valid_days") or 1)
        if self.valid_days < 1:
            raise ValueError("Telcell valid_days must be at least 1.")
        self.base_url = str(config.get("base_url") or INVOICE_URL)
        self._http = http  # unused: Telcell has no server-to-server API for merchants

    def create_order(self, request: OrderRequest) -> OrderCreated:
        if request.currency != CURRENCY:
            raise ProviderError(
                f"Telcell takes AMD only, not {request.currency!r}.", code="invalid_currency"
            )
        if not _ORDER_NUMBER.match(request.order_number):
            raise ProviderError(
                f"Order number {request.order_number!r} cannot be a Telcell issuer_id.",
                code="invalid_order_number",
            )
        price = _price(request.amount)
        product = b64(request.description or request.order_number)
        issuer_id = b64(request.order_number)
        valid_days = str(self.valid_days)
        fields = {
            "action": "PostInvoice",
            "issuer": self.shop_id,
            "currency": TELCELL_CURRENCY,
            "price": price,
            "product": product,
            "issuer_id": issuer_id,
            "valid_days": valid_days,
            "lang": LANGUAGES.get(request.language, "am"),
        }
        fields["security_code"] = security_code(
            shop_key=self.shop_key,
            issuer=self.shop_id,
            currency=TELCELL_CURRENCY,
            price=price,
            product=product,
            issuer_id=issuer_id,
            valid_days=valid_days,
        )
        return OrderCreated(
            provider_reference="", payment_url=f"{self.base_url}?{urlencode(fields)}", raw=fields
        )

    # -- RESULT_URL -----------------------------------------------------------------------------

    def parse_callback(self, request: CallbackRequest) -> ParsedCallback:
        fields = {key: str(value) for key, value in {**request.query, **request.form}.items()}
        missing = [key for key in (*CALLBACK_FIELDS, "checksum") if key not in fields]
        missing += [key for key in ("invoice", "issuer_id", "status", "sum") if not fields.get(key)]
        if missing:
            raise CallbackRejected(f"Telcell callback without {', '.join(sorted(set(missing)))}.")
        received = fields["checksum"].strip()
        if not _MD5_HEX.match(received):
            raise CallbackRejected("Telcell callback with a malformed checksum.")
        values = {key: fields[key] for key in CALLBACK_FIELDS}
        candidates = [result_checksum(shop_key=self.shop_key, **values)]
        if "buyer" in fields:
            candidates.append(
                result_checksum(shop_key=self.shop_key, buyer=fields["buyer"], **values)
            )
        given = received.lower().encode()
        # Compare against every candidate (no early exit), each in constant time.
        matches = [hmac.compare_digest(candidate.encode(), given) for candidate in candidates]
        if not any(matches):
            raise CallbackRejected("Telcell callback: checksum does not match.")

        status_text = fields["status"].strip().upper()
        if status_text not in STATES:
            raise CallbackRejected(f"Telcell callback with unknown status {status_text!r}.")
        if fields["currency"].strip() not in CALLBACK_CURRENCIES:
            raise CallbackRejected("Telcell callback in a currency other than AMD.")
        sum_text = fields["sum"].strip()
        if not _SUM.match(sum_text):
            raise CallbackRejected("Telcell callback with a malformed sum.")
        try:
            amount = parse_amount(Decimal(sum_text), CURRENCY)
        except (InvalidOperation, ValueError):
            raise CallbackRejected("Telcell callback with a malformed sum.") from None
        order_number = _order_number(fields["issuer_id"].strip())
        invoice = fields["invoice"].strip()
        payment_id = fields["payment_id"].strip()
        state = STATES[status_text]
        if state == ProviderState.PAID and not payment_id:
            raise CallbackRejected("Telcell PAID callback without payment_id.")
        raw = {key: fields[key] for key in CALLBACK_FIELDS}
        raw["verification"] = "callback_checksum"
        proof = StatusResult(
            state=state,
            provider_reference=invoice,
            order_number=order_number,
            amount=amount,
            currency=CURRENCY,
            approved_amount=amount if state == ProviderState.PAID else None,
            deposited_amount=amount if state == ProviderState.PAID else None,
            refunded_amount=Decimal("0.00") if state == ProviderState.PAID else None,
            action_code="" if state == ProviderState.PAID else status_text,
            action_description="" if state == ProviderState.PAID else f"Telcell {status_text}",
            paid_at=fields["time"].strip() if state == ProviderState.PAID else "",
            raw=raw,
        )
        return ParsedCallback(
            event_id=f"{invoice}:{payment_id or '-'}:{status_text}",
            order_number=order_number,
            provider_reference=invoice,
            claimed_state=state,
            amount=amount,
            currency=CURRENCY,
            status=proof,
            raw=raw,
        )

    def answer_callback(self, parsed: ParsedCallback | None, *, accepted: bool) -> CallbackAnswer:
        if accepted and parsed is not None:
            return CallbackAnswer(status_code=200, body="OK")
        return CallbackAnswer(status_code=400, body="REJECTED")
