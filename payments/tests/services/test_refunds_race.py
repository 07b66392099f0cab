"""Concurrent refunds on PostgreSQL can never add up to more than the payment."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from conftest import run_together
from core.errors import DomainError
from payments import services
from payments.models import Payment, Refund
from payments.tests.conftest import decide, registered
from payments.tests.factories import make_payment


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_refund_race_cannot_over_refund(organization, branch, system_user):
    payment = make_payment(organization=organization, branch=branch, amount="1000.00")
    payment, order = registered(payment, system_user)
    decide(order)
    payment = services.payment_check_status(payment=payment, actor=system_user)
    assert payment.status == Payment.Status.VERIFIED

    def refund():
        try:
            services.payment_refund(
                payment=Payment.objects.get(pk=payment.pk),
                amount=Decimal("400.00"),
                reason="race",
                actor=system_user,
            )
        except DomainError as exc:
            return exc.code
        return "ok"

    outcomes = run_together(*[refund] * 8)
    assert sorted(outcomes) == ["ok", "ok"] + ["refund_exceeds_payment"] * 6
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("800.00")
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    total = Refund.objects.filter(payment=payment, status="succeeded").aggregate(t=Sum("amount"))
    assert total["t"] == Decimal("800.00")
    order.refresh_from_db()
    assert order.refunded_minor == 80000
