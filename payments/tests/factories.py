"""Test helpers for payments (and for domains that need a payment)."""

from __future__ import annotations

from decimal import Decimal

from core.actors import system_actor
from payments import services
from payments.models import Payment


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
