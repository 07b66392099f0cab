"""Test data through the real services.

Payments are verified with ``payment_verify_manually`` (fast, no gateway); refunds go through
``payment_refund`` with an approving adapter, so the payments hook runs exactly as in production.
The sandbox round trip itself is exercised by the API test of ``sandbox/qr-payments/``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from core.actors import system_actor
from payouts import services


class ApprovingRefundAdapter:
    """A gateway that approves every refund (only ``refund`` is called by ``payment_refund``)."""

    def refund(self, *, provider_reference, amount, currency, refund_id):
        from payments.providers.base import RefundResult

        return RefundResult(provider_reference=f"R-{refund_id}", succeeded=True, code="0")


def local_noon(organization, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=organization.tz)


def paid(qr, amount: str, *, currency: str = "AMD", day: dt.date | None = None, actor=None):
    """A verified QR payment of ``amount`` (verified at local noon of ``day``, default now)."""
    from payments.models import Payment
    from payments.services import payment_verify_manually

    actor = actor or system_actor("tests")
    payment = services.qr_payment_create(
        qr_code=qr, amount=Decimal(amount), currency=currency, actor=actor
    )
    payment = payment_verify_manually(
        payment=payment, actor=actor, comment="seen in the bank", reference="test"
    )
    if day is not None:
        Payment.objects.filter(pk=payment.pk).update(verified_at=local_noon(qr.organization, day))
        payment.refresh_from_db()
    return payment


def refund(payment, amount: str, actor=None):
    from payments.services import payment_refund

    payment = type(payment).objects.get(pk=payment.pk)  # current refunded amount
    return payment_refund(
        payment=payment,
        amount=Decimal(amount),
        reason="customer asked",
        actor=actor or system_actor("tests"),
        adapter=ApprovingRefundAdapter(),
    )


def today(organization) -> dt.date:
    return timezone.localtime(timezone.now(), organization.tz).date()


def request(recipient, actor, start, end=None, currency="AMD"):
    """``payout_request`` for a range (one day unless ``end``)."""
    return services.payout_request(
        recipient=recipient,
        currency=currency,
        period_start=start,
        period_end=end or start,
        actor=actor,
    )
