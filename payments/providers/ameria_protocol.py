"""Ameriabank vPOS 3.1 protocol: the response-code and payment-state tables, the amount and
order-id rules, and the mapping of a ``GetPaymentDetails``-shaped answer to a ``StatusResult``.

Pure functions, no transport (the adapter, ``payments.providers.ameria``, posts and calls these);
the sources and wire details are in the adapter's docstring.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from core.money import CurrencyError, alpha_code, parse_amount

from .base import ProviderError, ProviderState, StatusResult
from .cards import mask_pan

MAX_ORDER_ID = 2_147_483_647  # OrderID is an integer (a .NET int)

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
PAYMENT_ID_PATTERN = re.compile(
    r"^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$"
)
# Personal data the adapter never passes on in ``raw``.
_PERSONAL_FIELDS = frozenset({"ClientName", "ClientEmail", "ExpDate", "CardNumber"})


def response_code(value: Any) -> str:
    """Normalise a ResponseCode: ``"00 : Payment Successfully Completed"`` -> ``"00"``."""
    if value is None:
        return ""
    text = str(value).strip()
    return text.split(" : ", 1)[0].split(":", 1)[0].strip() if text else ""


def retryable(code: str) -> bool:
    return code in RETRYABLE_CODES


def gateway_error(code: str, message: str = "", *, operation: str) -> ProviderError:
    description = message or CODE_DESCRIPTIONS.get(code, "unknown response code")
    return ProviderError(
        f"Ameria {operation} failed with code {code or '(none)'}: {description}",
        code=code or "no_response_code",
        retryable=retryable(code),
    )


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


def request_amount(amount: Any, currency: str) -> Decimal:
    """A positive exact amount in ``currency``; more precision than the currency is refused."""
    try:
        value = parse_amount(amount, currency)
    except (TypeError, ValueError, CurrencyError) as exc:
        raise ProviderError(str(exc), code="invalid_amount") from None
    if value <= 0:
        raise ProviderError("Amounts sent to Ameria must be positive.", code="invalid_amount")
    return value


def wire_amount(amount: Decimal) -> str:
    """The JSON value of an amount: a quoted decimal string, never a float."""
    return format(amount, "f")


def answer_amount(value: Any, currency: str, field: str) -> Decimal | None:
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


def order_state_code(data: dict) -> int | None:
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


def check_order(data: dict, order_number: str) -> str:
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


def status_from(
    data: dict,
    *,
    provider_reference: str,
    order_number: str,
    operation: str,
    fallback_amount: Decimal | None = None,
    fallback_currency: str | None = None,
) -> StatusResult:
    """A ``GetPaymentDetails``-shaped answer (also ``MakeBindingPayment``'s) as a
    ``StatusResult``: the state (from OrderStatus/PaymentState, or the response code when the
    answer has none), the amounts, the order checked against ours, the card details."""
    code = response_code(data.get("ResponseCode"))
    order_status = order_state_code(data)
    state = None if order_status is not None else _state_from_code(code, data, operation)
    currency = _answer_currency(data, fallback_currency)
    amount = answer_amount(data.get("Amount"), currency, "Amount")
    if amount is None:
        amount = fallback_amount
    if amount is None:
        raise ProviderError(f"Ameria {operation}: no Amount.", code="malformed_response")
    approved = answer_amount(data.get("ApprovedAmount"), currency, "ApprovedAmount")
    deposited = answer_amount(data.get("DepositedAmount"), currency, "DepositedAmount")
    refunded = answer_amount(data.get("RefundedAmount"), currency, "RefundedAmount")
    action_code = str(data.get("ActionCode") or "").strip()
    if state is None:
        state = map_state(
            order_status,
            code=code,
            action_code=action_code,
            approved=approved,
            deposited=deposited,
            refunded=refunded,
            amount=amount,
        )
    if state in _MONEY_STATES and code != "00":
        raise ProviderError(
            f"Ameria {operation}: order status {order_status} with ResponseCode {code!r}.",
            code="inconsistent_status",
        )
    checked_order = check_order(data, order_number)
    reference = str(data.get("PaymentID") or provider_reference or "").strip().upper()
    result_code = code if code not in ("", "00") else ""
    decline_code = action_code if action_code not in ("", "0", "00") else result_code
    description = str(data.get("Description") or data.get("ResponseMessage") or "").strip()
    if not description and decline_code:
        description = CODE_DESCRIPTIONS.get(decline_code, "")
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
        binding_id=str(data.get("CardHolderID") or data.get("BindingID") or "").strip(),
        paid_at=str(data.get("DateTime") or "").strip(),
        raw=safe_raw(data),
    )


# States in which money was taken: the answer's ResponseCode must then be "00".
_MONEY_STATES = frozenset(
    {
        ProviderState.PAID,
        ProviderState.AUTHORIZED,
        ProviderState.REFUNDED,
        ProviderState.PARTIALLY_REFUNDED,
    }
)


def _state_from_code(code: str, data: dict, operation: str) -> ProviderState:
    """The state of an answer without OrderStatus/PaymentState, from its ResponseCode."""
    if code in RETRYABLE_CODES:
        # e.g. 0151019 "sent but no answer": the outcome is unknown, not a decline.
        raise gateway_error(code, str(data.get("ResponseMessage") or ""), operation=operation)
    if code in EXPIRED_CODES:
        return ProviderState.EXPIRED
    if code in PENDING_CODES:
        return ProviderState.PENDING
    if code in DECLINE_CODES:
        return ProviderState.DECLINED
    if code == "00":
        # Success without a state: not a proof of payment; look it up again.
        return ProviderState.PENDING
    raise gateway_error(code, str(data.get("ResponseMessage") or ""), operation=operation)


def _answer_currency(data: dict, fallback: str | None) -> str:
    """The answer's ISO 4217 numeric Currency as a code; blank means AMD (the documented
    default, 051) unless the request named one."""
    numeric = str(data.get("Currency") or "").strip()
    if not numeric:
        return fallback or "AMD"
    try:
        return alpha_code(numeric)
    except CurrencyError:
        raise ProviderError(
            f"Ameria answered currency {numeric!r}.", code="malformed_response"
        ) from None


def map_state(
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


def safe_raw(data: dict) -> dict:
    raw = {key: value for key, value in data.items() if key not in _PERSONAL_FIELDS}
    for key, value in raw.items():
        if isinstance(value, Decimal):
            raw[key] = format(value, "f")
    if data.get("CardNumber"):
        raw["CardNumber"] = mask_pan(data["CardNumber"])
    raw.pop("Password", None)
    return raw
