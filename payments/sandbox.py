"""The built-in sandbox gateway: the BPC REST protocol, a checkout page and signed callbacks.

On only when ``settings.PAYOPS_SANDBOX`` is on (every sandbox URL answers 404 otherwise).

- ``/sandbox/bpc/payment/rest/{register,getOrderStatusExtended,refund,reverse,
  paymentOrderBinding}.do``: the same parameters and answers as the BPC gateway (see
  ``payments.providers.bpc``); credentials ``userName=payops-sandbox`` and the password from
  ``adapter_config()`` (derived from SECRET_KEY).
- ``/sandbox/bpc/checkout/<orderId>/``: the customer's page (``formUrl``): "Pay" or "Decline".
  The decision is recorded, a signed callback is sent to the order's ``dynamicCallbackUrl``
  (checksum = BPC's HMAC-SHA256 scheme with the sandbox key), and the browser is sent to
  ``returnUrl``/``failUrl`` with ``?orderId=``.

How payops reaches its sandbox: with ``PAYOPS_SANDBOX_URL`` set (e.g. the URL of a running
server's ``/sandbox/bpc/payment/rest/``), over real HTTP, callbacks included. Unset, in process:
an ``httpx`` client whose ``WSGITransport`` runs Django's WSGI application in the same thread,
so the full protocol runs through Django's whole stack without a second server (a request of a
single-threaded server calling itself over HTTP would deadlock) and within the caller's
database transaction.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import sys
import threading
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

logger = logging.getLogger("payops.sandbox")

SANDBOX_USERNAME = "payops-sandbox"
TEST_CARD_PAN = "408397**0021"  # the masked test card the sandbox "pays" with
# BPC actionCodes the sandbox answers with: a hard decline (100, "decline, no comments"),
# insufficient funds (116, a soft decline), a processing fault (909, "system malfunction").
# The checkout page's "Decline" button (and sandbox_pay's "declined") keep answering 116, as
# before; ``POST sandbox/payments/{id}/outcome/`` chooses each one explicitly.
HARD_DECLINE_ACTION_CODE = 100
INSUFFICIENT_FUNDS_ACTION_CODE = 116
TECHNICAL_ERROR_ACTION_CODE = 909
DECLINE_ACTION_CODE = INSUFFICIENT_FUNDS_ACTION_CODE
OUTCOME_ACTION_CODES = {
    "declined": HARD_DECLINE_ACTION_CODE,
    "insufficient_funds": INSUFFICIENT_FUNDS_ACTION_CODE,
    "technical_error": TECHNICAL_ERROR_ACTION_CODE,
}
OUTCOMES = ("approved", *OUTCOME_ACTION_CODES)
HTTP_TIMEOUT = 20.0


def _derived(purpose: str) -> str:
    return _derived_from(settings.SECRET_KEY, purpose)


@functools.lru_cache(maxsize=16)
def _derived_from(secret: str, purpose: str) -> str:
    """Computed once per process for each secret (a callback needed two per request)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def sandbox_password() -> str:
    return _derived("payops-sandbox-password")[:32]


def sandbox_callback_key() -> str:
    return _derived("payops-sandbox-callback-key")


def rest_base_url() -> str:
    configured = settings.PAYOPS_SANDBOX_URL
    if configured:
        return configured if configured.endswith("/") else configured + "/"
    return settings.PAYOPS_BASE_URL.rstrip("/") + "/sandbox/bpc/payment/rest/"


def in_process() -> bool:
    return not settings.PAYOPS_SANDBOX_URL


def adapter_config() -> dict:
    """The sandbox adapter's configuration, built once per process for the settings and URL
    configuration it depends on (it was rebuilt per callback: two HMACs and a ``reverse``)."""
    from django.urls import get_script_prefix, get_urlconf

    key = (
        settings.SECRET_KEY,
        settings.PAYOPS_BASE_URL,
        settings.PAYOPS_SANDBOX_URL,
        get_urlconf() or settings.ROOT_URLCONF,
        get_script_prefix(),
    )
    return dict(_adapter_config(key))


@functools.lru_cache(maxsize=8)
def _adapter_config(key: tuple) -> dict:
    from payments.providers.registry import callback_url

    return {
        "base_url": rest_base_url(),
        "username": SANDBOX_USERNAME,
        "password": sandbox_password(),
        "secret_key": sandbox_callback_key(),
        "callback_url": callback_url("sandbox"),
    }


# -- in-process transport ----------------------------------------------------------------------


_nesting_lock = threading.Lock()
_nesting = 0


def _detach_connection_closing() -> None:
    global _nesting
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    with _nesting_lock:
        if _nesting == 0:
            request_started.disconnect(close_old_connections)
            request_finished.disconnect(close_old_connections)
        _nesting += 1


def _reattach_connection_closing() -> None:
    global _nesting
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    with _nesting_lock:
        _nesting -= 1
        if _nesting == 0:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


def _in_process_app(environ, start_response):
    """Django's WSGI app, run inside the current request/transaction.

    Django closes "old" database connections when a request starts and finishes; inside an
    open transaction of the same thread that would break the caller, so those two signal
    receivers are detached while in-process requests run (as Django's own test client does);
    nested in-process requests (checkout -> callback -> lookup) reattach them only at the end
    of the outermost one.
    """
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import got_request_exception

    lost: list[BaseException] = []
    caller = threading.get_ident()

    def database_lost(sender, **kwargs) -> None:
        exc = sys.exc_info()[1]
        if threading.get_ident() == caller and _is_database_loss(exc):
            lost.append(exc)

    _detach_connection_closing()
    got_request_exception.connect(database_lost, weak=False)
    try:
        response = WSGIHandler()(environ, start_response)
        try:
            body = b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
    finally:
        got_request_exception.disconnect(database_lost)
        _reattach_connection_closing()
    if lost:
        # The in-process gateway shares payops' database: its 500 for a lost connection is
        # payops' own database failure (503 database_unavailable), never the gateway's (502).
        raise lost[0]
    return [body]


def _is_database_loss(exc: BaseException | None) -> bool:
    """A database error that is not about the data (a lost or unusable connection)."""
    from django.db import DatabaseError, DataError, IntegrityError

    return isinstance(exc, DatabaseError) and not isinstance(exc, DataError | IntegrityError)


def _base_origin() -> str:
    parts = urlsplit(settings.PAYOPS_BASE_URL)
    return urlunsplit((parts.scheme or "http", parts.netloc or "127.0.0.1:8000", "", "", ""))


def gateway_client() -> httpx.Client:
    """The client payops uses to reach the sandbox (and the sandbox to reach payops)."""
    if in_process():
        return httpx.Client(
            transport=httpx.WSGITransport(app=_in_process_app),
            base_url=_base_origin(),
            timeout=HTTP_TIMEOUT,
        )
    return httpx.Client(timeout=HTTP_TIMEOUT)


# -- the gateway's own logic ---------------------------------------------------------------------


class GatewayError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _authenticate(params) -> str:
    if params.get("userName") != SANDBOX_USERNAME or not hmac.compare_digest(
        str(params.get("password", "")), sandbox_password()
    ):
        raise GatewayError(5, "Access denied.")
    return SANDBOX_USERNAME


def _find(params, merchant: str):
    from payments.models import SandboxOrder

    qs = SandboxOrder.objects.filter(merchant=merchant)
    if params.get("orderId") or params.get("mdOrder"):
        try:
            return qs.get(order_id=params.get("orderId") or params.get("mdOrder"))
        except (SandboxOrder.DoesNotExist, ValueError, ValidationError):
            # Only an unknown or malformed id: a database failure is not "unregistered".
            raise GatewayError(6, "Unregistered orderId.") from None
    if params.get("orderNumber"):
        order = qs.filter(order_number=params["orderNumber"]).first()
        if order is None:
            raise GatewayError(6, "Unregistered orderNumber.")
        return order
    raise GatewayError(1, "orderId or orderNumber is required.")


def _expire_if_due(order) -> None:
    if order.order_status == 0 and timezone.now() >= order.expires_at:
        order.order_status = 6
        order.action_code = -2007
        order.save(update_fields=["order_status", "action_code"])


def register(params, *, checkout_base: str) -> dict:
    from payments.models import SandboxOrder

    merchant = _authenticate(params)
    order_number = str(params.get("orderNumber", "")).strip()
    if not order_number:
        raise GatewayError(1, "orderNumber is required.")
    try:
        amount = int(params.get("amount", ""))
    except (TypeError, ValueError):
        raise GatewayError(4, "Amount is invalid.") from None
    if amount <= 0:
        raise GatewayError(4, "Amount is invalid.")
    currency = str(params.get("currency") or "051")
    if currency not in {"051", "840", "978", "643"}:
        raise GatewayError(7, "Currency is not supported.")
    if not params.get("returnUrl"):
        raise GatewayError(4, "returnUrl is required.")
    try:
        timeout = int(params.get("sessionTimeoutSecs") or 1200)
    except ValueError:
        timeout = 1200
    try:
        with transaction.atomic():
            order = SandboxOrder.objects.create(
                merchant=merchant,
                order_number=order_number,
                amount_minor=amount,
                currency_numeric=currency,
                description=str(params.get("description", ""))[:255],
                return_url=str(params.get("returnUrl", ""))[:500],
                fail_url=str(params.get("failUrl", ""))[:500],
                callback_url=str(params.get("dynamicCallbackUrl", ""))[:500],
                client_id=str(params.get("clientId", ""))[:128],
                expires_at=timezone.now() + timedelta(seconds=max(timeout, 1)),
            )
    except IntegrityError:
        raise GatewayError(1, "Order with this number was already processed.") from None
    return {
        "orderId": str(order.order_id),
        "formUrl": f"{checkout_base.rstrip('/')}/sandbox/bpc/checkout/{order.order_id}/",
    }


def order_status(params) -> dict:
    merchant = _authenticate(params)
    order = _find(params, merchant)
    _expire_if_due(order)
    return order_answer(order)


def order_answer(order) -> dict:
    """``getOrderStatusExtended``'s answer about ``order``, as BPC writes it."""
    answer = {
        "errorCode": "0",
        "errorMessage": "Success",
        "orderNumber": order.order_number,
        "orderStatus": order.order_status,
        "actionCode": order.action_code,
        "actionCodeDescription": _action_description(order.action_code),
        "amount": order.amount_minor,
        "currency": order.currency_numeric,
        "date": int(order.created_at.timestamp() * 1000),
        "orderDescription": order.description,
        "merchantOrderParams": [],
        "attributes": [{"name": "mdOrder", "value": str(order.order_id)}],
        "terminalId": "SANDBOX1",
        "paymentAmountInfo": {
            "paymentState": _payment_state(order.order_status),
            "approvedAmount": order.amount_minor if order.order_status in (1, 2, 4) else 0,
            "depositedAmount": order.amount_minor if order.order_status in (2, 4) else 0,
            "refundedAmount": order.refunded_minor,
        },
    }
    if order.order_status in (1, 2, 3, 4):
        answer["cardAuthInfo"] = {
            "pan": order.masked_pan,
            "expiration": "203012",
            "cardholderName": "SANDBOX TEST",
            "approvalCode": order.approval_code,
        }
        answer["authDateTime"] = int(order.auth_at.timestamp() * 1000) if order.auth_at else None
        answer["authRefNum"] = order.rrn
    if order.binding_id:
        answer["bindingInfo"] = {"clientId": order.client_id, "bindingId": order.binding_id}
    return answer


def refund(params) -> dict:
    from payments.models import SandboxOrder

    merchant = _authenticate(params)
    with transaction.atomic():
        order = _find(params, merchant)
        order = SandboxOrder.objects.select_for_update().get(pk=order.pk)
        try:
            amount = int(params.get("amount", ""))
        except (TypeError, ValueError):
            raise GatewayError(5, "Amount is invalid.") from None
        if order.order_status not in (2, 4):
            raise GatewayError(7, "Payment must be in a correct state.")
        if amount <= 0 or order.refunded_minor + amount > order.amount_minor:
            raise GatewayError(7, "Refund amount exceeds the deposited amount.")
        order.refunded_minor += amount
        if order.refunded_minor == order.amount_minor:
            order.order_status = 4
        order.save(update_fields=["refunded_minor", "order_status"])
    _notify(order, "refunded", 1)
    return {"errorCode": "0", "errorMessage": "Success"}


def reverse(params) -> dict:
    from payments.models import SandboxOrder

    merchant = _authenticate(params)
    with transaction.atomic():
        order = SandboxOrder.objects.select_for_update().get(pk=_find(params, merchant).pk)
        if order.order_status != 1:
            raise GatewayError(7, "Reversal is possible only for a held (pre-authorised) order.")
        order.order_status = 3
        order.save(update_fields=["order_status"])
    _notify(order, "reversed", 1)
    return {"errorCode": "0", "errorMessage": "Success"}


def payment_order_binding(params) -> dict:
    from payments.models import SandboxOrder

    merchant = _authenticate(params)
    order = _find(params, merchant)
    binding_id = str(params.get("bindingId", ""))
    source = (
        SandboxOrder.objects.filter(merchant=merchant, binding_id=binding_id)
        .exclude(binding_id="")
        .first()
    )
    if source is None:
        raise GatewayError(2, "Binding not found.")
    if order.order_status != 0:
        raise GatewayError(7, "The order was already paid or declined.")
    decide(order, approved=True, binding_id=binding_id, masked_pan=source.masked_pan)
    return {"errorCode": 0, "redirect": order.return_url, "info": "Your order is proceeded."}


def decide(
    order,
    *,
    approved: bool,
    binding_id: str = "",
    masked_pan: str = "",
    action_code: int = DECLINE_ACTION_CODE,
    late: bool = False,
) -> bool:
    """The customer's decision on the checkout page. Returns False if it was already decided.

    ``action_code``: the decline's BPC actionCode (``OUTCOME_ACTION_CODES``). ``late``: the
    customer pays an order whose session already expired (as a slow customer can at a real
    gateway): an expired, unpaid order is paid all the same."""
    from payments.models import SandboxOrder

    with transaction.atomic():
        order = SandboxOrder.objects.select_for_update().get(pk=order.pk)
        _expire_if_due(order)
        if late and approved and order.order_status == 6 and order.action_code == -2007:
            order.order_status = 0
        if order.order_status != 0:
            return False
        if approved:
            for name, value in _approval(masked_pan=masked_pan, at=timezone.now()).items():
                setattr(order, name, value)
            if order.client_id and not order.binding_id:
                order.binding_id = binding_id or secrets.token_hex(16)
        else:
            order.order_status = 6
            order.action_code = action_code
        order.save()
    _notify(order, "deposited", 1 if approved else 0)
    return True


def order_deposited(*, order_number: str, amount_minor: int, currency_numeric: str, at):
    """The order as registering it and paying it with the test card at ``at`` leave it
    (deposited), recorded without the HTTP round trip, for demo data seeded by the hundred; an
    order already recorded under ``order_number`` is returned as it is."""
    from payments.models import SandboxOrder

    order, _created = SandboxOrder.objects.get_or_create(
        merchant=SANDBOX_USERNAME,
        order_number=order_number,
        defaults={
            "amount_minor": amount_minor,
            "currency_numeric": currency_numeric,
            "description": f"Order {order_number}",
            "expires_at": at + timedelta(minutes=20),
            **_approval(at=at),
        },
    )
    return order


def _approval(*, at, masked_pan: str = "") -> dict:
    """What an approved checkout writes on its order (deposited: BPC's orderStatus 2)."""
    return {
        "order_status": 2,
        "action_code": 0,
        "approval_code": f"{secrets.randbelow(10**6):06d}",
        "rrn": f"{secrets.randbelow(10**12):012d}",
        "masked_pan": masked_pan or TEST_CARD_PAN,
        "auth_at": at,
    }


def _notify(order, operation: str, status: int) -> None:
    """Send the signed callback, as BPC does (GET with query parameters). Failures are logged."""
    if not order.callback_url:
        return
    params = {
        "mdOrder": str(order.order_id),
        "orderNumber": order.order_number,
        "operation": operation,
        "status": str(status),
        "amount": str(order.amount_minor),
        "currency": order.currency_numeric,
    }
    from payments.providers.bpc import callback_checksum

    params["checksum"] = callback_checksum(params, sandbox_callback_key())
    result: dict = {"operation": operation, "status": status, "at": timezone.now().isoformat()}
    try:
        with gateway_client() as client:
            response = client.get(order.callback_url, params=params)
        result["http_status"] = response.status_code
    except httpx.HTTPError as exc:
        result["error"] = f"{exc.__class__.__name__}: {exc}"
        logger.warning("sandbox callback failed: %s", result["error"])
    from payments.models import SandboxOrder

    with transaction.atomic():
        locked = SandboxOrder.objects.select_for_update().get(pk=order.pk)
        locked.callback_log = [*locked.callback_log, result]
        locked.save(update_fields=["callback_log"])


def redirect_url(order) -> str:
    target = order.return_url if order.order_status == 2 or not order.fail_url else order.fail_url
    separator = "&" if "?" in target else "?"
    return f"{target}{separator}{urlencode({'orderId': str(order.order_id)})}"


_ACTION_DESCRIPTIONS = {
    0: "Approved",
    -100: "No payment attempts",
    -2007: "Payment session expired",
    HARD_DECLINE_ACTION_CODE: "Declined, no comments",
    INSUFFICIENT_FUNDS_ACTION_CODE: "Insufficient funds",
    TECHNICAL_ERROR_ACTION_CODE: "System malfunction",
}


def _action_description(code: int) -> str:
    return _ACTION_DESCRIPTIONS.get(code, "")


def _payment_state(order_status: int) -> str:
    return {
        0: "CREATED",
        1: "APPROVED",
        2: "DEPOSITED",
        3: "REVERSED",
        4: "REFUNDED",
        6: "DECLINED",
    }.get(order_status, "CREATED")


def outcome_apply(*, payment, outcome: str, actor):
    """``POST sandbox/payments/{id}/outcome/``: the sandbox takes this payment's order (any
    purpose) through the whole round trip with ``outcome``: the order is registered if it was
    not, the customer's decision is made at the gateway (a late payment of an order payops
    already expired included), the signed callback goes to payops, and, if it did not settle
    the payment, a status lookup does. Returns the payment as it then is."""
    from payments.models import Payment, SandboxOrder
    from payments.providers import registry
    from payments.services import payment_check_status, payment_register_order

    with gateway_client() as client:
        adapter = registry.sandbox_adapter(http=client)
        if not payment.provider_reference and payment.status == Payment.Status.PENDING:
            payment = payment_register_order(payment=payment, actor=actor, adapter=adapter)
        order = SandboxOrder.objects.filter(
            merchant=SANDBOX_USERNAME, order_number=payment.order_number
        ).first()
        if order is None:
            return None
        approved = outcome == "approved"
        decide(
            order,
            approved=approved,
            action_code=OUTCOME_ACTION_CODES.get(outcome, HARD_DECLINE_ACTION_CODE),
            late=True,
        )
        payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
        if payment.status == Payment.Status.PENDING:
            payment = payment_check_status(
                payment=payment, actor=actor, adapter=adapter,
                method=Payment.VerificationMethod.LOOKUP,
            )  # fmt: skip
    return payment
