"""Payments through a Smart QR (payouts.services.qr_payments)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import DomainError
from payouts import services
from payouts.models import QrPayment

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


def test_an_idempotency_key_answers_only_the_same_request(organization, branch, qr, actor):
    """Issue 9 #3: the key returned any earlier payment of the client, whatever QR code, amount,
    currency or provider the new call named."""
    other_qr = services.qr_code_create(
        recipient=services.recipient_create(
            organization=organization, scope="team", name="Bar", branch=branch, actor=actor
        ),
        actor=actor,
    )
    same = {"qr_code": qr, "amount": D("2500.00"), "currency": "AMD", "actor": actor}
    first = services.qr_payment_create(**same, idempotency_key="c:1")
    assert services.qr_payment_create(**same, idempotency_key="c:1") == first
    assert (
        services.qr_payment_create(**{**same, "amount": D("2500")}, idempotency_key="c:1") == first
    )
    for change in (
        {"amount": D("2400.00")},
        {"currency": "USD"},
        {"provider": "arca"},
        {"qr_code": other_qr},
    ):
        with pytest.raises(DomainError) as exc:
            services.qr_payment_create(**{**same, **change}, idempotency_key="c:1")
        assert (exc.value.code, exc.value.status_code) == ("idempotency_key_reused", 422), change
    assert QrPayment.objects.count() == 1
