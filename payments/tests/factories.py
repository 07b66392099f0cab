"""Test helpers for payments (and for domains that need a payment)."""

from __future__ import annotations

from decimal import Decimal

from core.actors import system_actor
from payments import services
from payments.models import Payment
from payments.providers.base import StatusResult


def make_payment(
    *,
    organization,
    branch,
    amount: str | Decimal = "1000.00",
    currency: str = "AMD",
    provider: str = Payment.Provider.SANDBOX,
    purpose: str = Payment.Purpose.QR,
    verified: bool = False,
) -> Payment:
    payment = services.payment_create(
        organization=organization,
        branch=branch,
        provider=provider,
        purpose=purpose,
        amount=Decimal(amount),
        currency=currency,
        actor=system_actor("tests"),
    )
    if verified:
        payment = services.payment_verify_manually(
            payment=payment,
            actor=system_actor("tests"),
            comment="test fixture",
            reference="TEST",
        )
    return payment


def status_of(payment, state, **overrides) -> StatusResult:
    values = {
        "state": state,
        "provider_reference": payment.provider_reference or "",
        "order_number": payment.order_number,
        "amount": payment.amount,
        "currency": payment.currency,
        "masked_pan": "408397**0021",
        "approval_code": "654321",
    }
    values.update(overrides)
    return StatusResult(**values)
