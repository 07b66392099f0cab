"""Late payments: paid at the gateway after payops expired or declined them; reinstatement."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction

from core.accounting import accounting_period_guard
from core.audit import save_audited
from core.clock import clock_now, clock_today
from core.fsm import transition_apply
from payments.errors import PaymentError
from payments.events import (
    money_text,
    payment_late_record,
    payment_state_record,
)
from payments.locks import payment_lock
from payments.models import Payment, PaymentEvent
from payments.providers.base import ProviderError, ProviderState, StatusResult
from payments.services import gateways
from payments.services.cases import payment_case_raise

logger = logging.getLogger("payops.payments")


def late_payment_record(payment: Payment, *, status: StatusResult, method: str, actor) -> None:
    """The gateway says paid, but the payment already expired or was declined.

    States never move back, so the payment stays as it is; the gateway holds the customer's
    money, so an operator must decide (refund at the gateway, or verify by hand after a
    reinstatement). Recorded once as a ``late_payment`` event and listed as a ``late_payment``
    exception case; the caller answers the gateway as accepted so it stops retrying.
    """

    if not payment.events.filter(kind=PaymentEvent.Kind.LATE_PAYMENT).exists():
        payment_late_record(payment, status=status, method=method, actor=actor)
    logger.error(
        "payment %s is %s but the gateway says paid (%s)",
        payment.order_number,
        payment.status,
        method,
    )
    payment_case_raise(
        payment=payment,
        kind="late_payment",
        message=(
            f"Payment {payment.order_number} is {payment.status} in payops, but the gateway "
            f"reports it paid ({money_text(status.amount, status.currency)} {status.currency}): "
            "refund it at the gateway or verify it by hand."
        ),
        actor=actor,
        details={
            "order_number": payment.order_number,
            "status": payment.status,
            "gateway_state": str(status.state),
            "provider_reference": status.provider_reference or payment.provider_reference or "",
            "method": method,
        },
    )


def payment_reinstate(*, payment: Payment, actor, comment: str, adapter=None) -> Payment:
    """An operator accepts a late payment (paid at the gateway after expiry or decline).

    Only a payment with a ``late_payment`` event (the gateway's word that it was paid) can be
    reinstated, and only while the gateway still holds the whole amount: where the gateway has
    a status lookup it is asked again now and must say paid with nothing refunded; without a
    lookup the late answer itself must have been "paid". A late payment the gateway reports
    (partly) refunded is refused (``payment_refunded_at_gateway``): reinstated as verified with
    ``refunded_amount`` 0 it would be paid out although the customer has the money back. The
    payment becomes verified (method ``manual``, with the comment), the domains are told as for
    any verification, and the ``late_payment`` exception case is resolved.
    """
    if not comment.strip():
        raise PaymentError.COMMENT_REQUIRED.error("Reinstating a payment needs a comment.")
    payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
    accounting_period_guard(
        organization=payment.organization,
        date=clock_today(payment.organization),
        what="Reinstating a payment",
    )
    late = payment.events.filter(kind=PaymentEvent.Kind.LATE_PAYMENT).order_by("id").last()
    if late is None or payment.status not in Payment.FINAL_UNPAID_STATUSES:
        raise PaymentError.PAYMENT_NOT_LATE.error(
            "Only an expired or declined payment the gateway reported paid can be reinstated."
        )
    adapter = adapter or gateways.adapter_for_payment(payment)
    if adapter.capabilities.status_lookup:
        try:
            status = gateways.gateway_status(adapter, payment)
        except ProviderError as exc:
            raise PaymentError.PROVIDER_ERROR.error(
                f"The gateway lookup failed: {exc}", status_code=503
            ) from exc
        state = status.state
        refunded = status.refunded_amount or Decimal("0")
        if state is ProviderState.PAID and (
            status.amount != payment.amount or status.currency != payment.currency
        ):
            raise PaymentError.AMOUNT_MISMATCH.error(
                f"The gateway reports {status.amount} {status.currency}, the payment is "
                f"{payment.amount} {payment.currency}."
            )
    else:
        state = ProviderState(late.data.get("gateway_state") or ProviderState.PAID)
        refunded = Decimal("0")
    if state in (ProviderState.REFUNDED, ProviderState.PARTIALLY_REFUNDED) or refunded > 0:
        raise PaymentError.PAYMENT_REFUNDED_AT_GATEWAY.error(
            f"The gateway reports this payment {state} ({money_text(refunded, payment.currency)} "
            "refunded): it cannot be reinstated."
        )
    if state is not ProviderState.PAID:
        raise PaymentError.PAYMENT_NOT_PAID_AT_GATEWAY.error(
            f"The gateway now reports this payment {state}: it cannot be reinstated."
        )
    return _reinstate(payment=payment, actor=actor, comment=comment)


@transaction.atomic
def _reinstate(*, payment: Payment, actor, comment: str) -> Payment:
    from exceptionqueue.services import exception_clear

    # Checked again under the period's share lock, before the payment's (``core.locks``).
    accounting_period_guard(
        organization=payment.organization,
        date=clock_today(payment.organization),
        what="Reinstating a payment",
    )
    payment = payment_lock(payment)
    late = payment.events.filter(kind=PaymentEvent.Kind.LATE_PAYMENT).order_by("id").last()
    if late is None or payment.status not in Payment.FINAL_UNPAID_STATUSES:
        raise PaymentError.PAYMENT_NOT_LATE.error(
            "Only an expired or declined payment the gateway reported paid can be reinstated."
        )
    source = payment.status
    transition_apply(payment, "mark_reinstated", what="payment")
    payment.verified_at = clock_now(payment.organization_id)
    payment.verification_method = Payment.VerificationMethod.MANUAL
    payment.next_check_at = None
    save_audited(payment, actor=actor, reason="reinstated after a late payment")
    payment_state_record(
        payment,
        kind=PaymentEvent.Kind.VERIFIED,
        actor=actor,
        from_status=source,
        method=Payment.VerificationMethod.MANUAL,
        reference=late.reference,
        comment=comment.strip(),
        data={"reinstated": True, "late_payment_event": late.pk},
    )
    exception_clear(
        organization=payment.organization,
        dedup_key=f"late_payment:payment:{payment.pk}",
        actor=actor,
        note="payment reinstated",
    )
    return payment
