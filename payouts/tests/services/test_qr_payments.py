"""Payments through a Smart QR (payouts.services.qr_payments)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import DomainError
from payouts import services

D = Decimal


def test_qr_checkout_uses_the_organisations_gateway(organization, recipient, qr, actor):
    from payments.models import Payment, ProviderAccount
    from payments.providers.base import OrderCreated

    class Gateway:
        def create_order(self, request):
            self.request = request
            return OrderCreated(provider_reference="ARCA-1", payment_url="https://arca.test/pay/1")

    ProviderAccount.objects.create(organization=organization, provider="arca", merchant_id="m")
    gateway = Gateway()
    payment = services.qr_checkout_start(
        qr_code=qr, amount=D("2000.00"), currency="AMD", actor=actor, adapter=gateway
    )
    assert (payment.provider, payment.status, payment.payment_url) == (
        "arca",
        "pending",
        "https://arca.test/pay/1",
    )
    assert gateway.request.amount == D("2000.00")
    assert Payment.objects.get(pk=payment.pk).qr_payment.recipient_id == recipient.pk
    ProviderAccount.objects.create(organization=organization, provider="ameria", merchant_id="m")
    with pytest.raises(DomainError) as exc:
        services.qr_checkout_start(qr_code=qr, amount=D("1.00"), currency="AMD", actor=actor)
    assert exc.value.code == "provider_required"
