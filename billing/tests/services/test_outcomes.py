"""A payment that arrives on an expired link: listed, decided by a person, never counted twice
silently."""

from decimal import Decimal

import pytest

from billing.models import Attempt
from core.duework import due_work_run
from exceptionqueue.models import ExceptionCase
from payments import sandbox
from payments.models import Payment
from payments.services import payment_reinstate

pytestmark = pytest.mark.django_db(transaction=True)


def test_late_payment_on_an_expired_link_reinstated_after_the_period_was_paid(
    organization, clock, subscribe, system_user
):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    period = subscription.periods.get()
    first = period.attempts.get()
    due_work_run(organization=organization, now=clock("2026-12-04", 10))  # link expired (72 h)
    first.refresh_from_db()
    assert (first.status, first.failure_code) == ("failed", "link_expired")
    due_work_run(organization=organization, now=clock("2026-12-05", 10))  # the retry
    second = period.attempts.get(number=2)
    sandbox.outcome_apply(payment=second.payment, outcome="approved", actor=system_user)

    # The customer also pays the expired link at the gateway: accepted, listed, not counted.
    late = sandbox.outcome_apply(payment=first.payment, outcome="approved", actor=system_user)
    assert late.status == Payment.Status.EXPIRED
    assert ExceptionCase.objects.filter(kind="late_payment").count() == 1
    period.refresh_from_db()
    assert period.verified_amount == Decimal("15000.00")

    # A person reinstates it: now it counts, and the period paid twice is listed.
    payment_reinstate(payment=late, actor=system_user, comment="customer paid the old link")
    period.refresh_from_db()
    assert period.status == "paid"
    assert period.verified_amount == Decimal("30000.00")
    case = ExceptionCase.objects.get(kind="billing_amount_mismatch")
    assert case.details["problem"] == "paid twice"
    assert Attempt.objects.get(pk=first.pk).status == Attempt.Status.PAID
