"""ArCa / BPC REST gateway adapter (and the payops sandbox, which speaks the same protocol).

Pure protocol code: no database access. ``BpcAdapter(config=..., http=...)`` with config keys
``base_url`` (the REST root, e.g. ``https://ipay.arca.am/payment/rest/``), ``username``,
``password``, ``secret_key`` (the callback checksum key, when the bank enabled signed callbacks),
``callback_url`` (sent as ``dynamicCallbackUrl`` when set) and ``language``.

Wire details relied on
----------------------
* Every call is ``POST <root><method>.do`` with ``application/x-www-form-urlencoded`` parameters
  (``userName``, ``password`` and the method's own) and answers JSON. HTTP 200 says nothing
  about the business outcome: ``errorCode`` absent, ``0`` or ``"0"`` means only that the call
  itself worked; anything else is an error with ``errorMessage``.
* ``register.do``: ``orderNumber`` (ours, unique per merchant), ``amount`` in minor units
  (``core.money.to_minor``; AMD has exponent 2), ``currency`` as the ISO 4217 numeric code
  (``051`` AMD), ``returnUrl``, ``failUrl``, ``description``, ``language``,
  ``sessionTimeoutSecs``, ``clientId`` (stored cards); answers ``orderId`` and ``formUrl``.
  ``errorCode`` 1 = an order with this number was already registered: the adapter then finds
  it with ``getOrderStatusExtended.do?orderNumber=`` (``attributes[mdOrder]``), so a retried
  registration never creates a second order.
* ``getOrderStatusExtended.do`` (``orderId`` or ``orderNumber``): ``orderStatus`` 0 registered,
  not paid; 1 pre-authorised (held); 2 deposited = paid; 3 reversed; 4 refunded; 5 ACS
  (3-D Secure) started; 6 declined; 7 partially refunded (some banks). ``actionCode`` -2007 with
  status 6 is the session timeout (the customer never paid): mapped to expired. Only
  ``orderStatus`` 2 (and 4/7 with a deposited amount) prove a payment; ``errorCode`` 0 alone
  proves nothing. ``amount`` (minor units) and ``currency`` (numeric) are the order's;
  ``cardAuthInfo.pan`` is already masked by the gateway (``408397**0021``) and is masked again
  here if anything longer ever arrives; ``cardAuthInfo.approvalCode``, ``authRefNum`` (RRN),
  ``authDateTime`` (ms since epoch), ``paymentAmountInfo`` (approved, deposited, refunded
  amounts), ``bindingInfo.bindingId``.
* ``refund.do`` (``orderId``, ``amount`` minor units; partial refunds add up), ``reverse.do``
  (``orderId``; cancels a hold), ``paymentOrderBinding.do`` (``mdOrder`` of a freshly
  registered order + ``bindingId``; only where the bank allows stored-card payments).
* Callbacks (``callbackUrl`` configured at the bank, or ``dynamicCallbackUrl``): GET or POST
  parameters ``mdOrder``, ``orderNumber``, ``operation`` (``approved``, ``deposited``,
  ``reversed``, ``refunded``, ``declinedByTimeout``), ``status`` (1 success, 0 failure), and,
  with signed callbacks, ``checksum`` = upper-case hex HMAC-SHA256, with the merchant's
  callback key, over every other parameter (``sign_alias`` excluded too) sorted by name and
  written as ``name;value;`` one after another. Optional ``amount`` (minor units) and
  ``currency`` (numeric) are checked when present. A callback is a hint: the services confirm
  it with ``getOrderStatusExtended.do`` before anything is verified.

Public sources relied on (found with the search tool; see docs/payments.md)
--------------------------------------------------------------------------
* BPC's REST API documentation (dev.bpcbt.com, "REST API", "Callback notifications"): the
  methods, parameter names, ``orderStatus`` table and checksum callbacks.
* ``gfarishyan/arca`` (PHP ArCa client, ``OrderStatusResponse.php``): the ArCa hosts
  (``ipay.arca.am/payment/rest``), the status codes 0..6 and ``errorCode`` semantics.
* A public Django integration of a BPC-based gateway (GetPlatinum) whose tests pin the checksum
  string ``amount;10000;currency;RUB;...;mdOrder;53082785;`` (sorted names, ``name;value;``,
  HMAC-SHA256, upper case, booleans as 1/0), matching BPC's description.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from core.money import CurrencyError, alpha_code, from_minor, numeric_code, to_minor
from payments.providers.base import (
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
from payments.providers.cards import mask_pan

HTTP_TIMEOUT = 30.0
ARCA_BASE_URL = "https://ipay.arca.am/payment/rest/"
ARCA_TEST_BASE_URL = "https://ipaytest.arca.am:8445/payment/rest/"
LANGUAGES = {"hy": "hy", "am": "hy", "ru": "ru", "en": "en"}
SESSION_TIMEOUT_ACTION_CODE = -2007

# orderStatus -> our state (see the module docstring).
ORDER_STATUS = {
    0: ProviderState.PENDING,
    1: ProviderState.AUTHORIZED,
    2: ProviderState.PAID,
    3: ProviderState.REVERSED,
    4: ProviderState.REFUNDED,
    5: ProviderState.PENDING,
    6: ProviderState.DECLINED,
    7: ProviderState.PARTIALLY_REFUNDED,
}
CALLBACK_OPERATIONS = {
    "approved": ProviderState.AUTHORIZED,
    "deposited": ProviderState.PAID,
    "reversed": ProviderState.REVERSED,
    "refunded": ProviderState.REFUNDED,
    "declinedByTimeout": ProviderState.EXPIRED,
}


def checksum_string(params: dict[str, Any]) -> str:
    items = sorted(
        (name, value) for name, value in params.items() if name not in {"checksum", "sign_alias"}
    )
    parts = []
    for name, value in items:
        if isinstance(value, bool):
            value = int(value)
        parts.append(f"{name};{value};")
    return "".join(parts)


def callback_checksum(params: dict[str, Any], key: str) -> str:
    """BPC callback checksum: HMAC-SHA256 over ``name;value;`` sorted by name, upper-case hex."""
    return (
        hmac.new(key.encode(), checksum_string(params).encode(), hashlib.sha256).hexdigest().upper()
    )


def _ok(data: dict[str, Any]) -> bool:
    return str(data.get("errorCode", "0")).strip() in {"0", ""}


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


class BpcAdapter:
    """The BPC REST protocol, as run by ArCa and the Armenian banks behind it."""

    name: ClassVar[str] = "arca"
    capabilities: ClassVar[Capabilities] = Capabilities.full_api("AMD", "USD", "EUR", "RUB")

    def __init__(self, *, config: dict, http: httpx.Client | None = None) -> None:
        missing = [key for key in ("username", "password") if not config.get(key)]
        if missing:
            raise ValueError(f"BPC config is missing {', '.join(missing)}.")
        base_url = str(config.get("base_url") or ARCA_BASE_URL)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.username = str(config["username"])
        self.password = str(config["password"])
        self.secret_key = str(config.get("secret_key") or "")
        self.callback_url = str(config.get("callback_url") or "")
        self.require_checksum = bool(config.get("require_checksum", bool(self.secret_key)))
        self._http = http if http is not None else httpx.Client(timeout=HTTP_TIMEOUT)

    # -- transport ------------------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any], *, moves_money: bool = False) -> dict:
        data = {"userName": self.username, "password": self.password, **params}
        url = f"{self.base_url}{method}"
        try:
            response = self._http.post(url, data=data, timeout=HTTP_TIMEOUT)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderError(
                f"BPC {method}: could not connect ({exc.__class__.__name__}).",
                code="transport_error",
                retryable=True,
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"BPC {method}: transport failure ({exc.__class__.__name__})"
                + ("; the outcome is unknown, look the order up." if moves_money else "."),
                code="transport_indeterminate" if moves_money else "transport_error",
                retryable=True,
            ) from exc
        if response.status_code >= 500:
            raise ProviderError(
                f"BPC {method}: gateway fault (HTTP {response.status_code}).",
                code="gateway_fault",
                retryable=True,
            )
        if response.status_code >= 400:
            raise ProviderError(
                f"BPC {method}: HTTP {response.status_code}.", code=f"http_{response.status_code}"
            )
        try:
            payload = json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise ProviderError(
                f"BPC {method}: the answer is not JSON.", code="malformed_response", retryable=True
            ) from None
        if not isinstance(payload, dict):
            raise ProviderError(f"BPC {method}: unexpected answer.", code="malformed_response")
        return payload

    @staticmethod
    def _error(method: str, data: dict[str, Any]) -> ProviderError:
        code = str(data.get("errorCode", "")).strip()
        message = str(data.get("errorMessage", "") or "no message")
        return ProviderError(f"BPC {method}: error {code}: {message}", code=f"bpc_{code}")

    # -- orders ---------------------------------------------------------------------------------

    def _currency(self, currency: str) -> str:
        if currency not in self.capabilities.currencies:
            raise ProviderError(f"BPC gateway does not take {currency!r}.", code="invalid_currency")
        return numeric_code(currency)

    def _register_params(self, request: OrderRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "orderNumber": request.order_number,
            "amount": to_minor(request.amount, request.currency),
            "currency": self._currency(request.currency),
            "returnUrl": request.return_url,
            "description": request.description[:99],
            "language": LANGUAGES.get(request.language, "en"),
            "sessionTimeoutSecs": request.timeout_seconds,
        }
        if request.fail_url:
            params["failUrl"] = request.fail_url
        if request.client_id:
            params["clientId"] = request.client_id
        if self.callback_url:
            params["dynamicCallbackUrl"] = self.callback_url
        return params

    def create_order(self, request: OrderRequest) -> OrderCreated:
        data = self._call("register.do", self._register_params(request))
        if _ok(data) and data.get("orderId"):
            return OrderCreated(
                provider_reference=str(data["orderId"]),
                payment_url=str(data.get("formUrl", "")),
                raw=data,
            )
        if str(data.get("errorCode", "")).strip() == "1":
            # Already registered (a retried call): find that order instead of a second one.
            existing = self._status_raw(order_number=request.order_number)
            order_id = _md_order(existing)
            if order_id:
                return OrderCreated(provider_reference=order_id, payment_url="", raw=existing)
        raise self._error("register.do", data)

    def _status_raw(self, *, provider_reference: str = "", order_number: str = "") -> dict:
        params = {"orderId": provider_reference} if provider_reference else {}
        if not provider_reference:
            params = {"orderNumber": order_number}
        data = self._call("getOrderStatusExtended.do", params)
        if not _ok(data):
            error = self._error("getOrderStatusExtended.do", data)
            if str(data.get("errorCode", "")).strip() == "6":
                error.code = "unknown_order"
            raise error
        return data

    def status(self, *, provider_reference: str, order_number: str) -> StatusResult:
        data = self._status_raw(provider_reference=provider_reference, order_number=order_number)
        return self.parse_status(data, provider_reference=provider_reference)

    @staticmethod
    def parse_status(data: dict[str, Any], *, provider_reference: str = "") -> StatusResult:
        order_status = _int(data.get("orderStatus"))
        if order_status not in ORDER_STATUS:
            raise ProviderError(
                f"BPC answered an unknown orderStatus {data.get('orderStatus')!r}.",
                code="malformed_response",
            )
        try:
            currency = alpha_code(str(data.get("currency") or "051"))
        except CurrencyError:
            raise ProviderError(
                f"BPC answered an unknown currency {data.get('currency')!r}.",
                code="malformed_response",
            ) from None
        amount_minor = _int(data.get("amount"))
        if amount_minor is None:
            raise ProviderError("BPC status without an amount.", code="malformed_response")
        action_code = _int(data.get("actionCode"), 0)
        state = ORDER_STATUS[order_status]
        if state is ProviderState.DECLINED and action_code == SESSION_TIMEOUT_ACTION_CODE:
            state = ProviderState.EXPIRED
        info = data.get("paymentAmountInfo") or {}
        card = data.get("cardAuthInfo") or {}
        binding = data.get("bindingInfo") or {}

        def minor(key: str) -> Decimal | None:
            value = _int(info.get(key))
            return None if value is None else from_minor(value, currency)

        refunded = minor("refundedAmount")
        deposited = minor("depositedAmount")
        if state is ProviderState.PAID and refunded and refunded > 0:
            total = from_minor(amount_minor, currency)
            state = (
                ProviderState.REFUNDED if refunded >= total else ProviderState.PARTIALLY_REFUNDED
            )
        if state is ProviderState.REFUNDED and refunded is not None:
            total = from_minor(amount_minor, currency)
            if refunded < total:
                state = ProviderState.PARTIALLY_REFUNDED
        paid_at = ""
        auth_ms = _int(data.get("authDateTime"))
        if auth_ms:
            paid_at = datetime.fromtimestamp(auth_ms / 1000, tz=UTC).isoformat()
        return StatusResult(
            state=state,
            provider_reference=provider_reference or _md_order(data),
            order_number=str(data.get("orderNumber", "")),
            amount=from_minor(amount_minor, currency),
            currency=currency,
            approved_amount=minor("approvedAmount"),
            deposited_amount=deposited,
            refunded_amount=refunded,
            masked_pan=mask_pan(str(card.get("pan") or card.get("maskedPan") or "")),
            approval_code=str(card.get("approvalCode") or "")[:16],
            rrn=str(data.get("authRefNum") or "")[:32],
            action_code=str(action_code),
            action_description=str(data.get("actionCodeDescription") or "")[:255],
            binding_id=str(binding.get("bindingId") or ""),
            paid_at=paid_at,
            raw=_without_card_data(data),
        )

    def refund(
        self, *, provider_reference: str, amount: Decimal, currency: str, refund_id: str
    ) -> RefundResult:
        data = self._call(
            "refund.do",
            {"orderId": provider_reference, "amount": to_minor(amount, currency)},
            moves_money=True,
        )
        return RefundResult(
            provider_reference=provider_reference,
            succeeded=_ok(data),
            code=str(data.get("errorCode", "0")),
            message=str(data.get("errorMessage", "")),
            raw=data,
        )

    def reverse(self, *, provider_reference: str) -> RefundResult:
        data = self._call("reverse.do", {"orderId": provider_reference}, moves_money=True)
        return RefundResult(
            provider_reference=provider_reference,
            succeeded=_ok(data),
            code=str(data.get("errorCode", "0")),
            message=str(data.get("errorMessage", "")),
            raw=data,
        )

    def charge_token(self, *, request: OrderRequest, binding_id: str) -> StatusResult:
        """Stored-card payment: register the order, pay it with the binding, look it up."""
        created = self.create_order(request)
        data = self._call(
            "paymentOrderBinding.do",
            {"mdOrder": created.provider_reference, "bindingId": binding_id},
            moves_money=True,
        )
        if not _ok(data):
            raise self._error("paymentOrderBinding.do", data)
        return self.status(provider_reference=created.provider_reference, order_number="")

    # -- callbacks ------------------------------------------------------------------------------

    def parse_callback(self, request: CallbackRequest) -> ParsedCallback:
        params = {**request.query, **request.form}
        if self.secret_key or self.require_checksum:
            given = str(params.get("checksum", ""))
            if not given:
                raise CallbackRejected("The callback carries no checksum.", status_code=403)
            if not self.secret_key:
                raise CallbackRejected("No checksum key is configured.", status_code=403)
            expected = callback_checksum(params, self.secret_key)
            if not hmac.compare_digest(given.upper(), expected):
                raise CallbackRejected("The callback checksum does not match.", status_code=403)
        md_order = str(params.get("mdOrder", "")).strip()
        order_number = str(params.get("orderNumber", "")).strip()
        operation = str(params.get("operation", "")).strip()
        status = str(params.get("status", "")).strip()
        if not md_order or not order_number or not operation or status not in {"0", "1"}:
            raise CallbackRejected("The callback lacks mdOrder, orderNumber, operation or status.")
        if status == "0":
            claimed = ProviderState.DECLINED
        else:
            claimed = CALLBACK_OPERATIONS.get(operation)
            if claimed is None:
                raise CallbackRejected(f"Unknown callback operation {operation!r}.")
        currency = None
        if params.get("currency"):
            try:
                currency = alpha_code(str(params["currency"]))
            except CurrencyError:
                raise CallbackRejected("The callback names an unknown currency.") from None
        amount = None
        if params.get("amount") not in (None, ""):
            amount_minor = _int(params["amount"])
            if amount_minor is None:
                raise CallbackRejected("The callback amount is not an integer.")
            amount = from_minor(amount_minor, currency or "AMD")
        return ParsedCallback(
            event_id=f"{md_order}:{operation}:{status}",
            order_number=order_number,
            provider_reference=md_order,
            claimed_state=claimed,
            amount=amount,
            currency=currency,
            raw={k: v for k, v in params.items() if k != "checksum"},
        )

    def answer_callback(self, parsed: ParsedCallback | None, *, accepted: bool) -> CallbackAnswer:
        return CallbackAnswer(status_code=200 if accepted else 400, body="OK" if accepted else "")


def _md_order(data: dict[str, Any]) -> str:
    for attribute in data.get("attributes") or []:
        if isinstance(attribute, dict) and attribute.get("name") == "mdOrder":
            return str(attribute.get("value", ""))
    return str(data.get("orderId", "") or "")


def _without_card_data(data: dict[str, Any]) -> dict[str, Any]:
    """The raw answer as stored: card data reduced to the masked PAN and approval code."""
    clean = dict(data)
    card = clean.get("cardAuthInfo")
    if isinstance(card, dict):
        clean["cardAuthInfo"] = {
            "pan": mask_pan(str(card.get("pan") or card.get("maskedPan") or "")),
            "approvalCode": card.get("approvalCode", ""),
        }
    return json.loads(json.dumps(clean, default=str))


class SandboxAdapter(BpcAdapter):
    """The built-in sandbox gateway (payments.sandbox): the BPC protocol, payops' own host."""

    name: ClassVar[str] = "sandbox"
