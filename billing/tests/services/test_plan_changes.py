"""Upgrade now with proration billed at once; downgrade at period end; reconciliation."""

from decimal import Decimal

import pytest

from billing import services
from billing.errors import BillingError
from billing.models import BillingEvent, BillingPeriod
from core.duework import due_work_run
from core.errors import DomainError
from payments import sandbox
from payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)


def pay_pending(period, actor):
    attempt = period.attempts.get(status="pending")
    return sandbox.outcome_apply(payment=attempt.payment, outcome="approved", actor=actor)


@pytest.fixture
def gold(organization, system_user):
    return services.plan_create(
        organization=organization,
        code="gold",
        name="Gold",
        amount=Decimal("24000.00"),
        currency="AMD",
        interval="month",
        actor=system_user,
    )


@pytest.fixture
def paid_subscription(organization, clock, subscribe, system_user):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    pay_pending(subscription.periods.get(), system_user)
    return subscription


def test_upgrade_now_bills_the_prorated_difference_at_once(
    organization, clock, paid_subscription, gold, system_user
):
    clock("2026-12-22", 12)  # 10 of the 31 days of December left, today included
    subscription, proration = services.subscription_change_plan(
        subscription=paid_subscription, plan=gold, effective="now", actor=system_user
    )
    assert subscription.plan == gold
    assert proration.kind == BillingPeriod.Kind.PRORATION
    # (24000 - 15000) x 10 / 31 = 2903.2258... -> 2903.23
    assert proration.expected_amount == Decimal("2903.23")
    assert proration.status == BillingPeriod.Status.PENDING  # billed at once, its own attempt
    attempt = proration.attempts.get()
    assert attempt.payment.amount == Decimal("2903.23")
    pay_pending(proration, system_user)
    proration.refresh_from_db()
    assert proration.status == BillingPeriod.Status.PAID
    # The next period is billed at the new plan's price.
    due_work_run(organization=organization, now=clock("2027-01-01", 10))
    january = subscription.periods.get(start="2027-01-01")
    assert january.expected_amount == Decimal("24000.00")
    pay_pending(january, system_user)
    # Reconciles to the luma: what was expected is what was verified.
    periods = BillingPeriod.objects.filter(subscription=subscription)
    assert sum(p.expected_amount for p in periods) == Decimal("41903.23")
    assert sum(p.verified_amount for p in periods) == Decimal("41903.23")
    verified = Payment.objects.filter(status="verified")
    assert sum(p.amount for p in verified) == Decimal("41903.23")
    assert BillingEvent.objects.filter(kind="subscription.plan_changed").count() == 1


def test_downgrade_takes_effect_with_the_next_period(
    organization, clock, paid_subscription, plan, gold, system_user
):
    upgraded, _ = services.subscription_change_plan(
        subscription=paid_subscription, plan=gold, effective="period_end", actor=system_user
    )
    assert upgraded.pending_plan == gold
    assert upgraded.plan == plan
    with pytest.raises(DomainError) as refused:
        services.subscription_change_plan(
            subscription=upgraded, plan=plan, effective="now", actor=system_user
        )
    assert refused.value.code == BillingError.SAME_PLAN.code
    due_work_run(organization=organization, now=clock("2027-01-01", 10))
    upgraded.refresh_from_db()
    assert upgraded.plan == gold
    assert upgraded.pending_plan is None
    assert upgraded.periods.get(start="2027-01-01").expected_amount == Decimal("24000.00")


def test_a_downgrade_now_is_refused_and_nothing_changes(
    organization, clock, paid_subscription, plan, system_user
):
    cheap = services.plan_create(
        organization=organization,
        code="lite",
        name="Lite",
        amount=Decimal("9000.00"),
        currency="AMD",
        interval="month",
        actor=system_user,
    )
    with pytest.raises(DomainError) as refused:
        services.subscription_change_plan(
            subscription=paid_subscription, plan=cheap, effective="now", actor=system_user
        )
    assert refused.value.code == "downgrade_at_period_end"
    paid_subscription.refresh_from_db()
    assert paid_subscription.plan == plan
    assert paid_subscription.pending_plan is None
    assert BillingPeriod.objects.count() == 1
