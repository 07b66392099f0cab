"""payment_create and order registration."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.actors import system_actor
from core.errors import DomainError
from payments import services
from payments.models import Payment
from payments.tests.factories import make_payment


def test_payment_create_is_pending_with_an_audit_row(payment, system_user):
    assert payment.status == Payment.Status.PENDING
    assert payment.order_number.startswith("PO")
    assert payment.expires_at > payment.created_at
    assert list(payment.events.values_list("kind", flat=True)) == ["created"]
    assert payment.history.count() == 1


def test_payment_create_refuses_a_branch_of_another_organisation(
    organization, other_organization, system_user
):
    from core.models import Branch

    foreign = Branch.objects.create(organization=other_organization, code="x", name="X")
    with pytest.raises(DomainError) as caught:
        services.payment_create(
            organization=organization,
            branch=foreign,
            provider="sandbox",
            purpose="qr",
            amount=Decimal("10"),
            currency="AMD",
            actor=system_user,
        )
    assert caught.value.code == "branch_not_found"


def test_ameria_order_numbers_are_numeric(organization, branch):
    payment = make_payment(organization=organization, branch=branch, provider="ameria")
    assert payment.order_number.startswith("AM")
    assert payment.order_number[2:].isdigit()
    assert int(payment.order_number[2:]) <= 2_147_483_647


def test_gateways_without_an_order_reference_register_many_orders(organization, branch):
    """Idram gives no reference before its callback: both orders register (NULL, not '')."""
    from payments.models import ProviderAccount
    from payments.services import payment_register_order

    ProviderAccount.objects.create(
        organization=organization,
        provider=Payment.Provider.IDRAM,
        merchant_id="110000601",
        secret_key="idram-secret",
    )
    registered = []
    for amount in ("1500.00", "2500.00"):
        payment = make_payment(
            organization=organization, branch=branch, amount=amount, provider="idram"
        )
        payment = payment_register_order(payment=payment, actor=system_actor("tests"))
        assert payment.provider_reference is None
        assert payment.payment_url
        registered.append(payment)
    assert Payment.objects.filter(provider="idram", provider_reference__isnull=True).count() == 2


def test_telcell_payments_stay_pending_while_the_invoice_is_payable(organization, branch):
    from payments.models import ProviderAccount

    ProviderAccount.objects.create(
        organization=organization,
        provider="telcell",
        merchant_id="shop",
        secret_key="k",
        config={"valid_days": 2},
    )
    payment = make_payment(organization=organization, branch=branch, provider="telcell")
    window = payment.expires_at - payment.created_at
    assert window.total_seconds() >= 2 * 86400 - 5
    idram = make_payment(organization=organization, branch=branch, provider="idram")
    assert (idram.expires_at - idram.created_at).total_seconds() < 1300
