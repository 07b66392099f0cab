"""Issue 9 #1: every money input is bounded (``core.money.max_amount``), and no stored row can
make the payments list, a payment's page or the admin list fail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from core.errors import DomainError
from core.money import max_amount
from payments import services
from payments.models import Payment
from payments.tests.factories import make_payment

HUGE = Decimal("999999999999999999.99")


@pytest.mark.parametrize("currency", ["AMD", "USD"])
def test_payment_create_refuses_an_amount_beyond_the_bound(
    organization, branch, system_user, currency
):
    too_much = max_amount(currency) + Decimal("0.01")
    with pytest.raises(DomainError) as caught:
        services.payment_create(
            organization=organization,
            branch=branch,
            provider="sandbox",
            purpose="qr",
            amount=too_much,
            currency=currency,
            actor=system_user,
        )
    assert caught.value.code == "invalid"
    assert caught.value.status_code == 400
    assert "amount" in caught.value.fields
    assert not Payment.objects.exists()


def test_payment_create_takes_the_bound_itself(organization, branch, system_user):
    payment = services.payment_create(
        organization=organization,
        branch=branch,
        provider="sandbox",
        purpose="qr",
        amount=max_amount("AMD"),
        currency="AMD",
        actor=system_user,
    )
    assert payment.amount == max_amount("AMD")


def test_payment_create_refuses_the_fuzzers_amount(organization, branch, system_user):
    with pytest.raises(DomainError) as caught:
        services.payment_create(
            organization=organization,
            branch=branch,
            provider="sandbox",
            purpose="qr",
            amount=HUGE,
            currency="AMD",
            actor=system_user,
        )
    assert (caught.value.code, caught.value.status_code) == ("invalid", 400)
    assert list(caught.value.fields) == ["amount"]


@pytest.mark.django_db(transaction=True)
def test_a_refund_beyond_the_bound_is_refused_before_the_gateway(organization, branch, system_user):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    with pytest.raises(DomainError) as caught:
        services.payment_refund(payment=payment, amount=HUGE, reason="too much", actor=system_user)
    assert (caught.value.code, caught.value.status_code) == ("invalid", 400)
    assert list(caught.value.fields) == ["amount"]
    assert not payment.refunds.exists()


@pytest.fixture
def stored_huge(organization, branch):
    """A row written before the bound existed (inserted directly, no service)."""
    payment = make_payment(organization=organization, branch=branch)
    Payment.objects.filter(pk=payment.pk).update(amount=HUGE)
    return payment


def test_a_stored_huge_row_does_not_break_the_list_or_the_detail(api, stored_huge):
    listed = api.get("/api/v1/payments/")
    assert listed.status_code == 200, listed.content
    row = next(r for r in listed.json()["results"] if r["id"] == stored_huge.pk)
    assert Decimal(row["amount"]) == HUGE
    detail = api.get(f"/api/v1/payments/{stored_huge.pk}/")
    assert detail.status_code == 200, detail.content
    assert Decimal(detail.json()["amount"]) == HUGE


def test_a_stored_huge_row_does_not_break_the_admin_pages(admin_client, stored_huge):
    listed = admin_client.get(reverse("admin:payments_payment_changelist"))
    assert listed.status_code == 200
    page = admin_client.get(reverse("admin:payments_payment_change", args=[stored_huge.pk]))
    assert page.status_code == 200
