"""Ameriabank vPOS 3.1 adapter (REST/JSON), pure protocol code: no database access.

What it does
------------
* ``create_order`` -> ``POST {base}/api/VPOS/InitPayment``; the customer pays at
  ``{base}/Payments/Pay?id=<PaymentID>&lang=am|ru|en``. InitPayment is keyed on
  (ClientID, OrderID): a retried call with the same OrderID answers the same PaymentID, so a
  retried task finds the order it already registered.
* ``status`` -> ``GetPaymentDetails`` (the proof; the BackURL redirect is only a hint).
* ``refund`` -> ``RefundPayment`` (partial amounts allowed, they accumulate);
  ``reverse`` -> ``CancelPayment`` (within 72 h of initialisation). A refusal by the gateway is
  ``RefundResult(succeeded=False, code=...)`` as in the BPC adapter; transient codes and transport
  failures are retryable ``ProviderError`` (``transport_indeterminate`` when money may have moved);
  ``charge_token`` -> ``MakeBindingPayment`` with ``PaymentType`` 6 (Binding) and the
  ``CardHolderID`` given at InitPayment as the token.
* ``parse_callback`` reads the customer's return to BackURL (``orderID``, ``resposneCode`` [sic],
  ``paymentID``, ``opaque``, ``description``). It is NOT signed, so the result is a claim only;
  the services must call ``status()`` before writing anything.

Wire details relied on
----------------------
* Amounts are decimals in the JSON API (not minor units): sent as a quoted decimal string with the
  currency's two places (``"10.00"``), which the sandbox accepted; read back with
  ``json.loads(parse_float=Decimal)`` so no float is ever created.
* ``Currency`` is the ISO 4217 numeric code (051 AMD default, 978 EUR, 840 USD, 643 RUB), mapped
  with ``core.money.numeric_code`` / ``alpha_code``; a blank currency in an answer means the
  documented default, AMD.
* ``OrderID`` is an integer: it is the trailing digits of our ``order_number`` (``"30164001"`` or
  ``"AM-30164001"`` -> 30164001, at most 2147483647). Our full order number travels in
  ``Opaque`` and ``status()`` checks both against the answer, so a PaymentID from another order
  is refused (``order_mismatch``). Two order numbers with the same trailing digits would be the
  same Ameria order: the payments service must keep those digits unique for Ameria.
* ``ResponseCode`` is ``int 1`` for InitPayment success and ``"00"`` elsewhere (sometimes
  ``"00 : Payment Successfully Completed"``); HTTP status carries no business meaning (an
  authentication failure is HTTP 200 with code 20; HTTP 500 with ``{"Message": "An error has
  occurred."}`` is a gateway fault).
* ``OrderStatus``/``PaymentState`` (Table 2): 0 payment_started, 1 payment_approved,
  2 payment_deposited, 3 payment_void, 4 payment_refunded, 5 payment_autoauthorized,
  6 payment_declined. ``DepositedAmount`` decrements as refunds run and ``RefundedAmount``
  accumulates (Approved = Deposited + Refunded); status 4 also appears after a partial refund.

Public sources relied on (found with the search tool)
-----------------------------------------------------
* "AmeriaBank vPOS 3.1 API Protocol Description" (the English specification; Armenian copy in
  ``neetrino-com/white-deploy`` ``ameria/vPOS_Arm_3.1.md``): endpoints, field tables, Table 1
  (response codes) and Table 2 (payment states), test host https://servicestest.ameriabank.am/VPOS.
* ``davit-vardanyan/ameriabank-vpos-php`` ``README.md``, ``docs/DEVELOPMENT-HISTORY.md``,
  ``src/Request/InitPaymentRequest.php``: sandbox observations (quoted decimal amounts accepted,
  ResponseCode types per endpoint, HTTP 500 envelope, code 550 / 07 meanings, the unsigned
  BackURL with ``resposneCode``, PaymentID case differing between InitPayment and the callback,
  amounts accumulating across partial refunds, idempotent InitPayment).
* ``AKhanjyan/aa`` ``docs/payments/AMERIABANK-INTEGRATION.md`` and ``neetrino/borboraqua.am``
  docs: live host https://services.ameriabank.am/VPOS, ``lang`` values, mandatory lookup.
* A TypeScript SDK ``VposTypes`` namespace (MakeBindingPayment fields, PaymentType 6 = Binding).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from core.money import numeric_code

from .ameria_protocol import (
    CODE_DESCRIPTIONS,
    EXPIRED_CODES,
    PAYMENT_ID_PATTERN,
    PENDING_CODES,
    RETRYABLE_CODES,
    ameria_order_id,
    gateway_error,
    request_amount,
    response_code,
    safe_raw,
    status_from,
    wire_amount,
)
from .base import (
    CallbackAnswer,
    CallbackRejected,
    CallbackRequest,
    Capabilities,
    OrderCreated,
    OrderRequest,
    ParsedCallback,
    ProviderError,
    ProviderState,
    RefundResult,
    StatusResult,
)

TEST_BASE_URL = "https://servicestest.ameriabank.am/VPOS"
LIVE_BASE_URL = "https://services.ameriabank.am/VPOS"
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=10.0)
MAX_PAGE_TIMEOUT = 1200  # InitPayment Timeout: "cannot exceed 1200 seconds"
BINDING_PAYMENT_TYPE = 6  # PaymentsEnum: 5 MainRest (arca), 6 Binding, 7 PayPal

LANGUAGES = {"hy": "am", "am": "am", "ru": "ru", "en": "en"}


class AmeriaAdapter:
    """Ameriabank vPOS 3.1. Config: base_url (test host default), client_id, username, password."""

    name: ClassVar[str] = "ameria"
    capabilities: ClassVar[Capabilities] = Capabilities.full_api("AMD", "EUR", "USD", "RUB")

    def __init__(self, *, config: dict, http: httpx.Client | None = None) -> None:
        missing = [key for key in ("client_id", "username", "password") if not config.get(key)]
        if missing:
            raise ValueError(f"Ameria config is missing {', '.join(missing)}.")
        self.base_url = str(config.get("base_url") or TEST_BASE_URL).rstrip("/")
        self.client_id = str(config["client_id"])
        self.username = str(config["username"])
        self.password = str(config["password"])
        self._http = http if http is not None else httpx.Client(timeout=HTTP_TIMEOUT)

    # -- transport ------------------------------------------------------------------------------

    def _post(self, operation: str, payload: dict[str, Any], *, moves_money: bool) -> dict:
        url = f"{self.base_url}/api/VPOS/{operation}"
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            response = self._http.post(
                url,
                content=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=HTTP_TIMEOUT,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Nothing reached the gateway: safe to try again.
            raise ProviderError(
                f"Ameria {operation}: could not connect ({exc.__class__.__name__}).",
                code="transport_error",
                retryable=True,
            ) from exc
        except httpx.HTTPError as exc:
            # The request may have been processed. For calls that move money the services must
            # read GetPaymentDetails before sending them again.
            raise ProviderError(
                f"Ameria {operation}: transport failure ({exc.__class__.__name__}); "
                + (
                    "the outcome is unknown, check status() before retrying." if moves_money else ""
                ),
                code="transport_indeterminate" if moves_money else "transport_error",
                retryable=True,
            ) from exc
        if response.status_code >= 500:
            raise ProviderError(
                f"Ameria {operation}: gateway fault (HTTP {response.status_code}).",
                code="gateway_fault",
                retryable=True,
            )
        if response.status_code >= 400:
            raise ProviderError(
                f"Ameria {operation}: HTTP {response.status_code}.",
                code=f"http_{response.status_code}",
            )
        try:
            data = json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise ProviderError(
                f"Ameria {operation}: the answer is not JSON.",
                code="malformed_response",
                retryable=True,
            ) from None
        if not isinstance(data, dict):
            raise ProviderError(
                f"Ameria {operation}: unexpected answer shape.", code="malformed_response"
            )
        return data

    def _credentials(self, *, with_client_id: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {"Username": self.username, "Password": self.password}
        if with_client_id:
            fields = {"ClientID": self.client_id, **fields}
        return fields

    # -- orders ---------------------------------------------------------------------------------

    def payment_url(self, payment_id: str, language: str = "hy") -> str:
        query = urlencode({"id": payment_id, "lang": LANGUAGES.get(language, "en")})
        return f"{self.base_url}/Payments/Pay?{query}"

    def _currency(self, currency: str) -> str:
        if currency not in self.capabilities.currencies:
            raise ProviderError(f"Ameria does not take {currency!r}.", code="invalid_currency")
        return numeric_code(currency)

    def create_order(self, request: OrderRequest) -> OrderCreated:
        amount = request_amount(request.amount, request.currency)
        currency = self._currency(request.currency)
        if not 1 <= request.timeout_seconds <= MAX_PAGE_TIMEOUT:
            raise ProviderError(
                f"Ameria payment page timeout must be 1..{MAX_PAGE_TIMEOUT} seconds.",
                code="invalid_request",
            )
        payload: dict[str, Any] = {
            **self._credentials(with_client_id=True),
            "OrderID": ameria_order_id(request.order_number),
            "Amount": wire_amount(amount),
            "Currency": currency,
            "Description": request.description,
            "BackURL": request.return_url,
            "Opaque": request.order_number,
            "Timeout": request.timeout_seconds,
        }
        if request.save_card:
            if not request.client_id:
                raise ProviderError(
                    "Saving a card with Ameria needs a CardHolderID (OrderRequest.client_id).",
                    code="invalid_request",
                )
            payload["CardHolderID"] = request.client_id
        data = self._post("InitPayment", payload, moves_money=False)
        # InitPayment answers an integer 1 on success (every other call answers "00").
        code = response_code(data.get("ResponseCode"))
        payment_id = str(data.get("PaymentID") or "").strip()
        if code != "1" or not payment_id:
            raise gateway_error(
                code, str(data.get("ResponseMessage") or ""), operation="InitPayment"
            )
        reference = payment_id.upper()
        return OrderCreated(
            provider_reference=reference,
            payment_url=self.payment_url(reference, request.language),
            raw={
                "PaymentID": payment_id,
                "ResponseCode": data.get("ResponseCode"),
                "ResponseMessage": data.get("ResponseMessage"),
                "OrderID": payload["OrderID"],
            },
        )

    # -- status ---------------------------------------------------------------------------------

    def status(self, *, provider_reference: str, order_number: str) -> StatusResult:
        data = self._post(
            "GetPaymentDetails",
            {"PaymentID": provider_reference, **self._credentials(with_client_id=False)},
            moves_money=False,
        )
        return status_from(
            data,
            provider_reference=provider_reference,
            order_number=order_number,
            operation="GetPaymentDetails",
        )

    # -- refunds --------------------------------------------------------------------------------

    def _money_call(self, operation: str, provider_reference: str, payload: dict) -> RefundResult:
        """RefundPayment / CancelPayment. A refusal is ``succeeded=False`` (as in the BPC
        adapter); a transient code or a transport failure is a retryable ``ProviderError``."""
        data = self._post(operation, payload, moves_money=True)
        code = response_code(data.get("ResponseCode"))
        message = str(data.get("ResponseMessage") or "")
        if code != "00" and (code in RETRYABLE_CODES or not code):
            raise gateway_error(code, message, operation=operation)
        return RefundResult(
            provider_reference=provider_reference,
            succeeded=code == "00",
            code=code,
            message=message or CODE_DESCRIPTIONS.get(code, ""),
            raw=safe_raw(data),
        )

    def refund(
        self, *, provider_reference: str, amount: Decimal, currency: str, refund_id: str
    ) -> RefundResult:
        value = request_amount(amount, currency)
        self._currency(currency)
        result = self._money_call(
            "RefundPayment",
            provider_reference,
            {
                "PaymentID": provider_reference,
                **self._credentials(with_client_id=False),
                "Amount": wire_amount(value),
            },
        )
        raw = {**result.raw, "refund_id": refund_id, "Amount": wire_amount(value)}
        return RefundResult(
            provider_reference=result.provider_reference,
            succeeded=result.succeeded,
            code=result.code,
            message=result.message,
            raw=raw,
        )

    def reverse(self, *, provider_reference: str) -> RefundResult:
        return self._money_call(
            "CancelPayment",
            provider_reference,
            {"PaymentID": provider_reference, **self._credentials(with_client_id=False)},
        )

    # -- stored cards ---------------------------------------------------------------------------

    def charge_token(self, *, request: OrderRequest, binding_id: str) -> StatusResult:
        """MakeBindingPayment. ``binding_id`` is the CardHolderID the card was saved under."""
        if not binding_id:
            raise ProviderError("A binding payment needs a CardHolderID.", code="invalid_request")
        amount = request_amount(request.amount, request.currency)
        currency = self._currency(request.currency)
        payload = {
            **self._credentials(with_client_id=True),
            "CardHolderID": binding_id,
            "Amount": wire_amount(amount),
            "OrderID": ameria_order_id(request.order_number),
            "BackURL": request.return_url,
            "PaymentType": BINDING_PAYMENT_TYPE,
            "Description": request.description,
            "Currency": currency,
            "Opaque": request.order_number,
        }
        data = self._post("MakeBindingPayment", payload, moves_money=True)
        return status_from(
            data,
            provider_reference=str(data.get("PaymentID") or ""),
            order_number=request.order_number,
            operation="MakeBindingPayment",
            fallback_amount=amount,
            fallback_currency=request.currency,
        )

    # -- callbacks ------------------------------------------------------------------------------

    def parse_callback(self, request: CallbackRequest) -> ParsedCallback:
        """The BackURL return. Unsigned: a claim to verify with ``status()``, never a proof."""
        fields = {**request.form, **request.query}
        payment_id = str(fields.get("paymentID") or "").strip()
        if not payment_id:
            raise CallbackRejected("Ameria callback without paymentID.")
        if not PAYMENT_ID_PATTERN.match(payment_id):
            raise CallbackRejected("Ameria callback with a malformed paymentID.")
        # The gateway spells it "resposneCode"; accept the correct spelling too.
        code = response_code(fields.get("resposneCode", fields.get("responseCode")))
        order_id = str(fields.get("orderID") or "").strip()
        opaque = str(fields.get("opaque") or "").strip()
        order_number = opaque or order_id
        if not order_number:
            raise CallbackRejected("Ameria callback without orderID or opaque.")
        if order_id and opaque:
            try:
                consistent = ameria_order_id(opaque) == int(order_id)
            except (ProviderError, ValueError):
                consistent = False
            if not consistent:
                raise CallbackRejected("Ameria callback: orderID does not match opaque.")
        if code == "00":
            claimed = ProviderState.PAID
        elif code in EXPIRED_CODES:
            claimed = ProviderState.EXPIRED
        elif code in ("", *PENDING_CODES):
            claimed = ProviderState.PENDING
        else:
            claimed = ProviderState.DECLINED
        reference = payment_id.upper()  # InitPayment answers upper case, the callback lower case
        return ParsedCallback(
            event_id=f"{reference}:{code or '-'}",
            order_number=order_number,
            provider_reference=reference,
            claimed_state=claimed,
            raw={
                "orderID": order_id,
                "resposneCode": code,
                "paymentID": payment_id,
                "opaque": opaque,
                "description": str(fields.get("description") or ""),
                "verified": False,
            },
        )

    def answer_callback(self, parsed: ParsedCallback | None, *, accepted: bool) -> CallbackAnswer:
        # The customer's browser is on the other end; the view may prefer a redirect.
        if accepted and parsed is not None:
            return CallbackAnswer(status_code=200, body="OK")
        return CallbackAnswer(status_code=400, body="Rejected")
