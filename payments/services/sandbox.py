"""The sandbox round trip: a whole payment through the built-in sandbox gateway."""

from __future__ import annotations

import datetime as dt
import logging

import httpx
from django.conf import settings

from core.money import numeric_code, to_minor
from payments.errors import PaymentError
from payments.models import Payment
from payments.providers.bpc import BpcAdapter
from payments.services.checks import payment_check_status
from payments.services.creation import payment_register_order
from payments.services.status import payment_apply_status

logger = logging.getLogger("payops.payments")


def sandbox_pay(*, payment: Payment, outcome: str, actor) -> Payment:
    """A whole payment through the built-in sandbox gateway, as a customer would make it.

    The order is registered with ``register.do``; the customer's decision is posted to the
    checkout page (``formUrl``); the sandbox sends its signed callback to
    ``/callbacks/sandbox/``, which looks the order up (``getOrderStatusExtended.do``) and
    verifies or declines the payment. Returns the payment as it then is.
    """
    from payments import sandbox
    from payments.providers import registry

    if not settings.PAYOPS_SANDBOX:
        raise PaymentError.SANDBOX_DISABLED.error()
    if outcome not in ("approved", "declined"):
        raise PaymentError.INVALID_OUTCOME.error(
            fields={"outcome": ["Must be approved or declined."]}
        )
    if payment.provider != Payment.Provider.SANDBOX:
        raise PaymentError.NOT_A_SANDBOX_PAYMENT.error(
            "Only sandbox payments go through the sandbox."
        )
    with sandbox.gateway_client() as client:
        adapter = registry.sandbox_adapter(http=client)
        payment = payment_register_order(payment=payment, actor=actor, adapter=adapter)
        if not payment.payment_url:
            raise PaymentError.SANDBOX_FAILED.error("The sandbox gave no checkout page.")
        try:
            response = client.post(
                payment.payment_url, data={"decision": outcome}, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            raise PaymentError.SANDBOX_FAILED.error(f"The sandbox checkout failed: {exc}") from exc
        if response.status_code not in (302, 303):
            raise PaymentError.SANDBOX_FAILED.error(
                f"The sandbox checkout answered HTTP {response.status_code}."
            )
        payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
        if payment.status == Payment.Status.PENDING:
            # The callback did not arrive or was refused: the lookup decides.
            payment = payment_check_status(
                payment=payment,
                actor=actor,
                adapter=adapter,
                method=Payment.VerificationMethod.LOOKUP,
            )
    return payment


def sandbox_payment_deposited(*, payment: Payment, at: dt.datetime, actor) -> Payment:
    """A sandbox payment paid with the test card at ``at``, for demo data: the sandbox gateway's
    deposited order is recorded as its checkout leaves it (``payments.sandbox.order_deposited``,
    no HTTP round trip: the demo seeds hundreds) and the gateway's word about it (its status
    answer, ``order_answer``, read by the BPC adapter's parser) is applied as a callback confirmed
    by a lookup would apply it: the payment is verified at ``at`` and carries the order's id as
    its ``provider_reference``, the test card, approval code and RRN."""
    from payments import sandbox

    if payment.provider != Payment.Provider.SANDBOX:
        raise PaymentError.NOT_A_SANDBOX_PAYMENT.error(
            "Only sandbox payments go through the sandbox."
        )
    order = sandbox.order_deposited(
        order_number=payment.order_number,
        amount_minor=to_minor(payment.amount, payment.currency),
        currency_numeric=numeric_code(payment.currency),
        at=at,
    )
    return payment_apply_status(
        payment=payment,
        status=BpcAdapter.parse_status(sandbox.order_answer(order)),
        method=Payment.VerificationMethod.CALLBACK_LOOKUP,
        actor=actor,
    )
