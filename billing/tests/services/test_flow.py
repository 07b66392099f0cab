"""A subscription walked by the test clock through the services (payment link collection)."""

from decimal import Decimal

import pytest

from billing.models import Attempt, BillingPeriod, Subscription
from core.duework import due_work_run
from payments import sandbox
from payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)


def run(organization, clock, when, hour=10):
    now = clock(when, hour)
    return due_work_run(organization=organization, now=now)


def test_first_period_is_invoiced_at_its_due_date_and_paid_by_link(
    organization, clock, subscribe, system_user
):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    period = subscription.periods.get()
    assert period.status == BillingPeriod.Status.SCHEDULED
    ran = run(organization, clock, "2026-12-01")
    assert ran["billing_attempts_created"] == 1
    period.refresh_from_db()
    assert period.status == BillingPeriod.Status.PENDING
    assert period.invoiced_at
    assert period.pending_at
    assert not period.verified_at
    attempt = period.attempts.get()
    assert attempt.payment_url
    assert attempt.order_number == attempt.payment.order_number
    payment = sandbox.outcome_apply(payment=attempt.payment, outcome="approved", actor=system_user)
    assert payment.status == Payment.Status.VERIFIED
    period.refresh_from_db()
    assert period.status == BillingPeriod.Status.PAID
    assert period.verified_amount == Decimal("15000.00")
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.entitlement_active
    assert subscription.entitlement_until == period.end
    assert Attempt.objects.get().status == Attempt.Status.PAID
