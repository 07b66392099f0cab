"""Partial (or whole) refunds of a period's verified payments, through payments' refunds.

The refund is the payments refund (its own audited event, reserved under the payment's lock,
the gateway called outside any transaction); the ``refunded`` payment hook then counts it on
the period (``billing.services.outcomes.period_refunded``), and a refund of a period that had
granted entitlement is listed for a person.
"""

from __future__ import annotations

from decimal import Decimal

from billing.errors import BillingError
from billing.models import Attempt, BillingPeriod
from payments.models import Payment, Refund


def period_refund(
    *,
    period: BillingPeriod,
    amount: Decimal,
    reason: str,
    actor,
    idempotency_key: str | None = None,
) -> Refund:
    from payments.services import payment_refund

    period = BillingPeriod.objects.get(pk=period.pk)
    payments = list(
        Payment.objects.filter(
            billing_attempt__period=period,
            billing_attempt__status=Attempt.Status.PAID,
            status__in=Payment.SETTLED_STATUSES,
        ).order_by("-verified_at", "-pk")
    )
    if not payments:
        raise BillingError.PERIOD_NOT_PAID.error()
    available = period.verified_amount - period.refunded_amount
    if amount > available:
        raise BillingError.REFUND_EXCEEDS_PERIOD.error(
            f"At most {available} {period.currency} of this period can be refunded.",
            fields={"amount": [f"At most {available}."]},
        )
    payment = next((p for p in payments if p.refundable_amount >= amount), None)
    if payment is None:
        raise BillingError.REFUND_EXCEEDS_PERIOD.error(
            "No single payment of the period has that much left to refund; refund in parts."
        )
    return payment_refund(
        payment=payment,
        amount=amount,
        reason=reason,
        actor=actor,
        idempotency_key=idempotency_key,
    )
