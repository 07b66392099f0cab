"""Partial refunds of a period: counted, reconciled to the luma, listed after entitlement."""

from decimal import Decimal

import pytest

from billing import services
from billing.models import BillingEvent
from core.duework import due_work_run
from core.errors import DomainError
from exceptionqueue.models import ExceptionCase
from payments import sandbox
from payments.models import SandboxOrder

pytestmark = pytest.mark.django_db(transaction=True)


def test_partial_refunds_reconcile_and_are_listed(organization, clock, subscribe, system_user):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    period = subscription.periods.get()
    attempt = period.attempts.get()
    sandbox.outcome_apply(payment=attempt.payment, outcome="approved", actor=system_user)

    services.period_refund(
        period=period, amount=Decimal("5000.00"), reason="2 weeks closed", actor=system_user
    )
    services.period_refund(
        period=period, amount=Decimal("0.01"), reason="rounding", actor=system_user
    )
    period.refresh_from_db()
    payment = attempt.payment
    payment.refresh_from_db()
    assert period.verified_amount == Decimal("15000.00")
    assert period.refunded_amount == Decimal("5000.01")
    assert payment.refunded_amount == Decimal("5000.01")
    assert payment.status == "partially_refunded"
    order = SandboxOrder.objects.get(order_number=payment.order_number)
    assert order.refunded_minor == 500001  # the gateway agrees, to the luma
    assert BillingEvent.objects.filter(kind="period_refunded").count() == 2
    case = ExceptionCase.objects.get(kind="billing_amount_mismatch")
    assert case.details["problem"] == "refunded after entitlement"
    assert case.occurrences == 2

    with pytest.raises(DomainError) as refused:
        services.period_refund(
            period=period, amount=Decimal("10000.00"), reason="too much", actor=system_user
        )
    assert refused.value.code == "refund_exceeds_period"
    period.refresh_from_db()
    assert period.refunded_amount == Decimal("5000.01")
