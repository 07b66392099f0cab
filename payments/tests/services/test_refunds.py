"""Refunds: reservation, the gateway's answer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import DomainError
from payments import services
from payments.models import Payment, Refund
from payments.tests.conftest import decide, registered
from webhooks.models import WebhookEvent


def test_refund_partial_then_rest(payment, system_user, changes):
    payment, order = registered(payment, system_user)
    decide(order)
    payment = services.payment_check_status(payment=payment, actor=system_user)
    assert payment.status == Payment.Status.VERIFIED
    refund = services.payment_refund(
        payment=payment, amount=Decimal("500.00"), reason="cold coffee", actor=system_user
    )
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.currency == "AMD"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == Decimal("500.00")
    order.refresh_from_db()
    assert order.refunded_minor == 50000
    services.payment_refund(
        payment=payment, amount=Decimal("1000.00"), reason="rest", actor=system_user
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert [c.kind for c in changes] == ["verified", "refunded", "refunded"]
    assert changes[-1].refund is not None
    assert WebhookEvent.objects.filter(event_type="payment.refunded").count() == 2
    kinds = list(payment.events.values_list("kind", flat=True))
    assert kinds == [
        "created",
        "order_registered",
        "verified",
        "refund_requested",
        "refund_succeeded",
        "refund_requested",
        "refund_succeeded",
    ]


def test_refund_cannot_exceed_the_payment(payment, system_user):
    payment = services.payment_verify_manually(
        payment=payment, actor=system_user, comment="x", reference="y"
    )
    with pytest.raises(DomainError) as caught:
        services.payment_refund(
            payment=payment, amount=Decimal("1500.01"), reason="too much", actor=system_user
        )
    assert caught.value.code == "refund_exceeds_payment"
    assert not Refund.objects.exists()


def test_refund_of_a_pending_payment_is_refused(payment, system_user):
    with pytest.raises(DomainError) as caught:
        services.payment_refund(
            payment=payment, amount=Decimal("1"), reason="no", actor=system_user
        )
    assert caught.value.code == "payment_not_refundable"


def test_refund_refused_by_the_gateway_releases_the_reservation(payment, system_user):
    # Verified manually: the sandbox order was never paid, so the gateway refuses the refund.
    payment, _ = registered(payment, system_user)
    payment = services.payment_verify_manually(
        payment=payment, actor=system_user, comment="x", reference="y"
    )
    refund = services.payment_refund(
        payment=payment, amount=Decimal("100.00"), reason="try", actor=system_user
    )
    assert refund.status == Refund.Status.FAILED
    assert refund.failure_code == "7"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    assert payment.refunded_amount == 0
    assert payment.events.filter(kind="refund_failed").count() == 1
