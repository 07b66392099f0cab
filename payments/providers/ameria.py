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
import re
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from core.money import CurrencyError, alpha_code, numeric_code, parse_amount

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
MAX_ORDER_ID = 2_147_483_647  # OrderID is an integer (a .NET int)
BINDING_PAYMENT_TYPE = 6  # PaymentsEnum: 5 MainRest (arca), 6 Binding, 7 PayPal

LANGUAGES = {"hy": "am", "am": "am", "ru": "ru", "en": "en"}

# Table 2 of the specification.
PAYMENT_STATES = {
    "payment_started": 0,
    "payment_approved": 1,
    "payment_deposited": 2,
    "payment_void": 3,
    "payment_refunded": 4,
    "payment_autoauthorized": 5,
    "payment_declined": 6,
}

# Table 1, grouped by what payops does with the code. Codes not listed are non-retryable errors.
# Transient: the processing centre or the gateway could not answer; asking again is sensible.
RETRYABLE_CODES = frozenset(
    {"0-1", "0151018", "0151019", "0907", "0910", "09001", "500", "520", "550"}
)
# The payment attempt failed for the card or the customer (a decline, not an error of ours).
DECLINE_CODES = frozenset(
    {
        "02",
        "0-2000",
        "0-2001",
        "0-20010",
        "0-2002",
        "0-2004",
        "0-2005",
        "0-2006",
        "0-2011",
        "0-2013",
        "0-2015",
        "0-2016",
        "0-2018",
        "0-2019",
        "0100",
        "0101",
        "0103",
        "0104",
        "0107",
        "0109",
        "0110",
        "0111",
        "0116",
        "0120",
        "0121",
        "0123",
        "0125",
        "0151017",
        "0151018",
        "0151019",
        "02001",
        "02003",
        "02005",
        "0208",
        "0209",
        "0341014",
        "071015",
        "0902",
        "0903",
        "0904",
        "0907",
        "0909",
        "0910",
        "0913",
        "0999",
    }
)
# The customer did not pay in time.
EXPIRED_CODES = frozenset({"0-2007", "01001"})
# Registered, no attempt yet / attempt started.
PENDING_CODES = frozenset({"0-100", "0-9000"})

CODE_DESCRIPTIONS = {
    "0-1": "Processing center response timeout",
    "0-100": "No payment attempts",
    "0-2000": "Declined: card is in the blacklist",
    "0-2001": "Declined: client IP address is in the blacklist",
    "0-20010": "Declined: amount exceeds the issuer's limits",
    "0-2002": "Declined: payment over limit",
    "0-2004": "Payment through SSL without CVC is forbidden",
    "0-2005": "Declined: 3-D Secure signature error",
    "0-2006": "Declined: issuer declined authentication",
    "0-2007": "Declined: payment time limit exceeded",
    "0-2011": "Declined: PaRes status unknown",
    "0-2012": "Operation not supported",
    "0-2013": "Payment attempts exhausted",
    "0-2015": "Declined by iReq in VERes",
    "0-2016": "Declined: VeRes status unknown",
    "0-2018": "Declined: directory server connection timeout",
    "0-2019": "Declined by iReq in PARes",
    "0-9000": "Transaction started",
    "00": "Approved",
    "01": "Order already exists",
    "0100": "Declined: issuer forbids online card transactions",
    "01001": "Declined: card data input timeout",
    "0101": "Declined: expired card",
    "0103": "Declined: call issuer",
    "0104": "Declined: blocked account",
    "0107": "Declined: call issuer",
    "0109": "Declined: invalid merchant",
    "0110": "Declined: invalid amount",
    "0111": "Declined: wrong card number",
    "0116": "Declined: not enough money",
    "0120": "Declined: not allowed by the issuer",
    "0121": "Declined: exceeds withdrawal limit",
    "0123": "Declined: exceeds withdrawal count limit",
    "0125": "Declined: invalid card number, or refund above the held amount / zero refund",
    "0151017": "Declined: 3-D Secure communication error",
    "0151018": "Declined: processing timeout, not sent",
    "0151019": "Declined: processing timeout, sent but no answer",
    "02": "Order declined due to errors in payment details",
    "02001": "Declined: fraud",
    "02003": "Declined: SSL (non 3-D Secure) transactions not allowed",
    "02005": "3-D Secure rule failed",
    "0208": "Declined: card is lost",
    "0209": "Declined: card limitations exceeded",
    "03": "Incorrect currency",
    "0341014": "Declined: general error",
    "0341041": "Declined: refund failed",
    "04": "Required parameter missing",
    "05": "Incorrect parameters",
    "06": "Unregistered OrderId",
    "07": "System error (also: refund exceeds deposited amount, reversal impossible)",
    "071015": "Declined: incorrect card parameters",
    "08204": "Declined: duplicate order",
    "09001": "RBS internal error",
    "0902": "Declined: invalid transaction",
    "0903": "Declined: re-enter transaction",
    "0904": "Declined: format error",
    "0907": "Declined: issuer host not available",
    "0909": "Declined: call issuer",
    "0910": "Declined: issuer host not available",
    "0913": "Declined: invalid transaction",
    "0914": "Declined: original transaction not found",
    "0999": "Declined by fraud",
    "20": "Incorrect username and password",
    "30": "Incorrect value of the Opaque field",
    "50": "Payment sum error",
    "500": "Unknown error",
    "510": "Incorrect parameters",
    "513": "No refund permission",
    "514": "No reverse permission",
    "520": "Overtime error",
    "550": "System error",
    "560": "Operation failed",
}

_ORDER_NUMBER = re.compile(r"^[A-Za-z]{0,16}[-_]?(\d{1,10})$")
_PAYMENT_ID = re.compile(
    r"^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$"
)
_FULL_PAN = re.compile(r"^\d{12,19}$")
# Personal data the adapter never passes on in ``raw``.
_PERSONAL_FIELDS = frozenset({"ClientName", "ClientEmail", "ExpDate", "CardNumber"})


def _code(value: Any) -> str:
    """Normalise a ResponseCode: ``"00 : Payment Successfully Completed"`` -> ``"00"``."""
    if value is None:
        return ""
    text = str(value).strip()
    return text.split(" : ", 1)[0].split(":", 1)[0].strip() if text else ""


def _retryable(code: str) -> bool:
    return code in RETRYABLE_CODES


def _error(code: str, message: str = "", *, operation: str) -> ProviderError:
    description = message or CODE_DESCRIPTIONS.get(code, "unknown response code")
    return ProviderError(
        f"Ameria {operation} failed with code {code or '(none)'}: {description}",
        code=code or "no_response_code",
        retryable=_retryable(code),
    )


def mask_pan(value: Any) -> str:
    """Keep a masked card number as given; mask a full one (first 6, last 4) should one come."""
    text = str(value or "").strip()
    if _FULL_PAN.match(text):
        return f"{text[:6]}{'*' * (len(text) - 10)}{text[-4:]}"
    return text


def ameria_order_id(order_number: str) -> int:
    """OrderID (an integer) from our order number: its trailing digits."""
    match = _ORDER_NUMBER.match(order_number or "")
    if not match or int(match.group(1)) == 0 or int(match.group(1)) > MAX_ORDER_ID:
        raise ProviderError(
            f"Ameria needs an integer OrderID: order number {order_number!r} must end in 1 to 10 "
            f"digits (at most {MAX_ORDER_ID}), optionally after a short letter prefix.",
            code="invalid_order_number",
        )
    return int(match.group(1))


def _money(amount: Any, currency: str) -> Decimal:
    """A positive exact amount in ``currency``; more precision than the currency is refused."""
    try:
        value = parse_amount(amount, currency)
    except (TypeError, ValueError, CurrencyError) as exc:
        raise ProviderError(str(exc), code="invalid_amount") from None
    if value <= 0:
        raise ProviderError("Amounts sent to Ameria must be positive.", code="invalid_amount")
    return value


def _wire_amount(amount: Decimal) -> str:
    """The JSON value of an amount: a quoted decimal string, never a float."""
    return format(amount, "f")


def _answer_amount(value: Any, currency: str, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):  # pragma: no cover - the decoder never makes floats
        raise ProviderError("Float in an Ameria answer.", code="malformed_response")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ProviderError(
            f"Ameria answered a non-decimal {field}: {value!r}.", code="malformed_response"
        ) from None
    try:
        return parse_amount(amount, currency)
    except ValueError:
        raise ProviderError(
            f"Ameria answered {field}={value!r}, more precise than {currency}.",
            code="malformed_response",
        ) from None


class AmeriaAdapter:
    """Ameriabank vPOS 3.1. Config: base_url (test host default), client_id, username, password."""

    name: ClassVar[str] = "ameria"
    capabilities: ClassVar[Capabilities] = Capabilities(
        status_lookup=True,
        refunds=True,
        partial_refunds=True,
        tokenized_recurring=True,
        currencies=("AMD", "EUR", "USD", "RUB"),
    )

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
        amount = _money(request.amount, request.currency)
        currency = self._currency(request.currency)
        if not 1 <= request.timeout_seconds <= MAX_PAGE_TIMEOUT:
            raise ProviderError(
                f"Ameria payment page timeout must be 1..{MAX_PAGE_TIMEOUT} seconds.",
                code="invalid_request",
            )
        payload: dict[str, Any] = {
            **self._credentials(with_client_id=True),
            "OrderID": ameria_order_id(request.order_number),
            "Amount": _wire_amount(amount),
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
        code = _code(data.get("ResponseCode"))
        payment_id = str(data.get("PaymentID") or "").strip()
        if code != "1" or not payment_id:
            raise _error(code, str(data.get("ResponseMessage") or ""), operation="InitPayment")
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
        return self._status_from(
            data,
            provider_reference=provider_reference,
            order_number=order_number,
            operation="GetPaymentDetails",
        )

    def _order_status(self, data: dict) -> int | None:
        """OrderStatus (an integer or a string) and PaymentState must agree when both come."""
        found: list[int] = []
        raw_status = data.get("OrderStatus")
        if raw_status not in (None, ""):
            try:
                found.append(int(str(raw_status).strip()))
            except ValueError:
                raise ProviderError(
                    f"Ameria answered OrderStatus={raw_status!r}.", code="unknown_order_status"
                ) from None
        raw_state = data.get("PaymentState")
        if raw_state not in (None, ""):
            text = str(raw_state).strip()
            if text.isdigit():
                found.append(int(text))
            elif text.lower() in PAYMENT_STATES:
                found.append(PAYMENT_STATES[text.lower()])
            else:
                raise ProviderError(
                    f"Ameria answered PaymentState={raw_state!r}.", code="unknown_order_status"
                )
        if not found:
            return None
        if len(set(found)) > 1:
            raise ProviderError(
                f"Ameria answered OrderStatus={raw_status!r} with PaymentState={raw_state!r}.",
                code="inconsistent_status",
            )
        if found[0] not in PAYMENT_STATES.values():
            raise ProviderError(
                f"Ameria answered an unknown order status {found[0]}.", code="unknown_order_status"
            )
        return found[0]

    def _check_order(self, data: dict, order_number: str) -> str:
        """The answer must be about our order: OrderID and Opaque, when present, must match."""
        opaque = str(data.get("Opaque") or "").strip()
        if not order_number:
            return opaque
        answered_id = data.get("OrderID")
        if answered_id not in (None, ""):
            expected = ameria_order_id(order_number)
            try:
                matches = int(str(answered_id).strip()) == expected
            except ValueError:
                matches = False
            if not matches:
                raise ProviderError(
                    f"Ameria answered OrderID {answered_id!r} for order {order_number!r}.",
                    code="order_mismatch",
                )
        if opaque and opaque != order_number:
            raise ProviderError(
                f"Ameria answered Opaque {opaque!r} for order {order_number!r}.",
                code="order_mismatch",
            )
        return order_number

    def _status_from(
        self,
        data: dict,
        *,
        provider_reference: str,
        order_number: str,
        operation: str,
        fallback_amount: Decimal | None = None,
        fallback_currency: str | None = None,
    ) -> StatusResult:
        code = _code(data.get("ResponseCode"))
        order_status = self._order_status(data)
        if order_status is None:
            if code in RETRYABLE_CODES:
                # e.g. 0151019 "sent but no answer": the outcome is unknown, not a decline.
                raise _error(code, str(data.get("ResponseMessage") or ""), operation=operation)
            if code in DECLINE_CODES or code in EXPIRED_CODES or code in PENDING_CODES:
                state = (
                    ProviderState.EXPIRED
                    if code in EXPIRED_CODES
                    else ProviderState.PENDING
                    if code in PENDING_CODES
                    else ProviderState.DECLINED
                )
            elif code == "00":
                # Success without a state: not a proof of payment; look it up again.
                state = ProviderState.PENDING
            else:
                raise _error(code, str(data.get("ResponseMessage") or ""), operation=operation)
        else:
            state = None

        numeric = str(data.get("Currency") or "").strip()
        if numeric:
            try:
                currency = alpha_code(numeric)
            except CurrencyError:
                raise ProviderError(
                    f"Ameria answered currency {numeric!r}.", code="malformed_response"
                ) from None
        else:
            currency = fallback_currency or "AMD"  # the documented default currency is 051
        amount = _answer_amount(data.get("Amount"), currency, "Amount")
        if amount is None:
            amount = fallback_amount
        if amount is None:
            raise ProviderError(f"Ameria {operation}: no Amount.", code="malformed_response")
        approved = _answer_amount(data.get("ApprovedAmount"), currency, "ApprovedAmount")
        deposited = _answer_amount(data.get("DepositedAmount"), currency, "DepositedAmount")
        refunded = _answer_amount(data.get("RefundedAmount"), currency, "RefundedAmount")
        action_code = str(data.get("ActionCode") or "").strip()
        result_code = code if code not in ("", "00") else ""

        if state is None:
            state = self._map_state(
                order_status,
                code=code,
                action_code=action_code,
                approved=approved,
                deposited=deposited,
                refunded=refunded,
                amount=amount,
            )
        if (
            state
            in {
                ProviderState.PAID,
                ProviderState.AUTHORIZED,
                ProviderState.REFUNDED,
                ProviderState.PARTIALLY_REFUNDED,
            }
            and code != "00"
        ):
            raise ProviderError(
                f"Ameria {operation}: order status {order_status} with ResponseCode {code!r}.",
                code="inconsistent_status",
            )

        checked_order = self._check_order(data, order_number)
        reference = str(data.get("PaymentID") or provider_reference or "").strip().upper()
        decline_code = action_code if action_code not in ("", "0", "00") else result_code
        description = str(data.get("Description") or data.get("ResponseMessage") or "").strip()
        if not description and decline_code:
            description = CODE_DESCRIPTIONS.get(decline_code, "")
        binding = str(data.get("CardHolderID") or data.get("BindingID") or "").strip()
        return StatusResult(
            state=state,
            provider_reference=reference,
            order_number=checked_order,
            amount=amount,
            currency=currency,
            approved_amount=approved,
            deposited_amount=deposited,
            refunded_amount=refunded,
            masked_pan=mask_pan(data.get("CardNumber")),
            approval_code=str(data.get("ApprovalCode") or "").strip(),
            rrn=str(data.get("rrn") or "").strip(),
            action_code=decline_code,
            action_description=description,
            binding_id=binding,
            paid_at=str(data.get("DateTime") or "").strip(),
            raw=self._safe_raw(data),
        )

    @staticmethod
    def _map_state(
        order_status: int,
        *,
        code: str,
        action_code: str,
        approved: Decimal | None,
        deposited: Decimal | None,
        refunded: Decimal | None,
        amount: Decimal,
    ) -> ProviderState:
        refunded_sum = refunded or Decimal(0)
        if order_status in (0, 5):  # started / authorisation via the issuer's ACS in progress
            return ProviderState.PENDING
        if order_status == 1:
            return ProviderState.AUTHORIZED
        if order_status == 2:
            return ProviderState.PARTIALLY_REFUNDED if refunded_sum > 0 else ProviderState.PAID
        if order_status == 3:
            return ProviderState.REVERSED
        if order_status == 4:
            # Status 4 is also reported after a partial refund: the amounts decide.
            captured = approved if approved is not None else amount
            if refunded is None or refunded_sum >= captured or deposited == Decimal(0):
                return ProviderState.REFUNDED
            return ProviderState.PARTIALLY_REFUNDED
        # 6: declined. A payment-page timeout is an expiry, not a card decline.
        if code in EXPIRED_CODES or action_code in EXPIRED_CODES:
            return ProviderState.EXPIRED
        return ProviderState.DECLINED

    @staticmethod
    def _safe_raw(data: dict) -> dict:
        raw = {key: value for key, value in data.items() if key not in _PERSONAL_FIELDS}
        for key, value in raw.items():
            if isinstance(value, Decimal):
                raw[key] = format(value, "f")
        if data.get("CardNumber"):
            raw["CardNumber"] = mask_pan(data["CardNumber"])
        raw.pop("Password", None)
        return raw

    # -- refunds --------------------------------------------------------------------------------

    def _money_call(self, operation: str, provider_reference: str, payload: dict) -> RefundResult:
        """RefundPayment / CancelPayment. A refusal is ``succeeded=False`` (as in the BPC
        adapter); a transient code or a transport failure is a retryable ``ProviderError``."""
        data = self._post(operation, payload, moves_money=True)
        code = _code(data.get("ResponseCode"))
        message = str(data.get("ResponseMessage") or "")
        if code != "00" and (code in RETRYABLE_CODES or not code):
            raise _error(code, message, operation=operation)
        return RefundResult(
            provider_reference=provider_reference,
            succeeded=code == "00",
            code=code,
            message=message or CODE_DESCRIPTIONS.get(code, ""),
            raw=self._safe_raw(data),
        )

    def refund(
        self, *, provider_reference: str, amount: Decimal, currency: str, refund_id: str
    ) -> RefundResult:
        value = _money(amount, currency)
        self._currency(currency)
        result = self._money_call(
            "RefundPayment",
            provider_reference,
            {
                "PaymentID": provider_reference,
                **self._credentials(with_client_id=False),
                "Amount": _wire_amount(value),
            },
        )
        raw = {**result.raw, "refund_id": refund_id, "Amount": _wire_amount(value)}
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
        amount = _money(request.amount, request.currency)
        currency = self._currency(request.currency)
        payload = {
            **self._credentials(with_client_id=True),
            "CardHolderID": binding_id,
            "Amount": _wire_amount(amount),
            "OrderID": ameria_order_id(request.order_number),
            "BackURL": request.return_url,
            "PaymentType": BINDING_PAYMENT_TYPE,
            "Description": request.description,
            "Currency": currency,
            "Opaque": request.order_number,
        }
        data = self._post("MakeBindingPayment", payload, moves_money=True)
        return self._status_from(
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
        if not _PAYMENT_ID.match(payment_id):
            raise CallbackRejected("Ameria callback with a malformed paymentID.")
        # The gateway spells it "resposneCode"; accept the correct spelling too.
        code = _code(fields.get("resposneCode", fields.get("responseCode")))
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
