"""Trials, cancels at period end, the month-end calendar in the schedule, webhooks."""

import datetime as dt
from decimal import Decimal

import pytest

from billing import services
from billing.models import BillingPeriod, Subscription
from core.duework import due_work_run
from payments import sandbox
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def pay(period, actor, outcome="approved"):
    attempt = period.attempts.get(status="pending")
    return sandbox.outcome_apply(payment=attempt.payment, outcome=outcome, actor=actor)


def test_trial_then_first_payment(organization, clock, subscribe, system_user):
    trial = services.plan_create(
        organization=organization,
        code="trial",
        name="Trial",
        amount=Decimal("10000.00"),
        currency="AMD",
        interval="month",
        trial_days=14,
        actor=system_user,
    )
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01", plan=trial)
    assert subscription.status == Subscription.Status.TRIALING
    assert subscription.entitlement_source == "trial"
    assert subscription.entitlement_until == dt.date(2026, 12, 14)
    assert subscription.entitlement_active
    period = subscription.periods.get()
    assert (period.start, period.due_date) == (dt.date(2026, 12, 15), dt.date(2026, 12, 15))
    assert (
        due_work_run(organization=organization, now=clock("2026-12-14", 10))[
            "billing_attempts_created"
        ]
        == 0
    )
    assert (
        due_work_run(organization=organization, now=clock("2026-12-15", 10))[
            "billing_attempts_created"
        ]
        == 1
    )
    pay(period, system_user)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.entitlement_source == "payment"
    assert subscription.entitlement_until == dt.date(2027, 1, 14)
    event = WebhookEvent.objects.get(event_type="entitlement.changed", data__source="payment")
    assert event.data == {
        "subscription": subscription.pk,
        "active": True,
        "until": "2027-01-14",
        "source": "payment",
    }


def test_month_end_schedule_keeps_the_shift_in_the_audit(
    organization, clock, subscribe, system_user
):
    clock("2027-01-31", 8)
    subscription = subscribe("2027-01-31")
    pay_first = due_work_run(organization=organization, now=clock("2027-01-31", 10))
    assert pay_first["billing_attempts_created"] == 1
    pay(subscription.periods.get(), system_user)
    due_work_run(organization=organization, now=clock("2027-02-28", 10))
    february = subscription.periods.get(number=2)
    assert (february.start, february.end, february.shifted_from_day) == (
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 30),
        31,
    )
    reason = february.history.last().history_change_reason
    assert "shifted from the 31th to 2027-02-28 (month end)" in reason
    assert february.due_at == dt.datetime(2027, 2, 28, tzinfo=organization.tz)


def test_cancel_at_period_end_stops_at_the_next_period(organization, clock, subscribe, system_user):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    pay(subscription.periods.get(), system_user)
    services.subscription_cancel(
        subscription=subscription, at="period_end", actor=system_user, comment="moving"
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.cancel_at_period_end
    ran = due_work_run(organization=organization, now=clock("2027-01-01", 10))
    assert ran["billing_periods_created"] == 0
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    assert not subscription.entitlement_active
    assert BillingPeriod.objects.count() == 1
    assert WebhookEvent.objects.filter(event_type="subscription.cancelled").count() == 1


def test_paused_subscription_is_not_billed_and_has_no_entitlement(
    organization, clock, subscribe, system_user
):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    pay(subscription.periods.get(), system_user)
    services.subscription_pause(subscription=subscription, actor=system_user, comment="injury")
    subscription.refresh_from_db()
    assert not subscription.entitlement_active
    ran = due_work_run(organization=organization, now=clock("2027-01-02", 10))
    assert ran["billing_periods_created"] == 0
    assert ran["billing_attempts_created"] == 0
    services.subscription_resume(subscription=subscription, actor=system_user)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    ran = due_work_run(organization=organization, now=clock("2027-01-02", 11))
    assert ran["billing_periods_created"] == 1
    assert ran["billing_attempts_created"] == 1


def test_a_resume_after_a_pause_restarts_the_schedule_and_bills_no_paused_month(
    organization, clock, subscribe, system_user
):
    """Paused on 5 Dec (December paid), resumed on 10 March: one period from 10 March, billed
    once, and the billing day is the 10th from then on. Before, the resume made the January,
    February and March periods at once and charged all three."""
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    pay(subscription.periods.get(), system_user)
    clock("2026-12-05", 9)
    services.subscription_pause(subscription=subscription, actor=system_user, comment="injury")
    due_work_run(organization=organization, now=clock("2027-03-10", 9))
    services.subscription_resume(subscription=subscription, actor=system_user, comment="back")
    ran = due_work_run(organization=organization, now=clock("2027-03-10", 10))
    assert (ran["billing_periods_created"], ran["billing_attempts_created"]) == (1, 1)
    subscription.refresh_from_db()
    assert subscription.billing_anchor == dt.date(2027, 3, 10)
    assert subscription.history.first().history_change_reason == (
        "back; schedule restarts 2027-03-10 (was 2027-01-01)"
    )
    resumed = subscription.periods.order_by("number").last()
    assert (resumed.start, resumed.end, resumed.due_date) == (
        dt.date(2027, 3, 10),
        dt.date(2027, 4, 9),
        dt.date(2027, 3, 10),
    )
    assert resumed.attempts.get().payment.amount == resumed.expected_amount
    pay(resumed, system_user)
    ran = due_work_run(organization=organization, now=clock("2027-04-10", 10))
    assert ran["billing_periods_created"] == 1
    after = subscription.periods.order_by("number").last()
    assert (after.start, after.end) == (dt.date(2027, 4, 10), dt.date(2027, 5, 9))


def test_a_pause_within_a_period_changes_no_date(organization, clock, subscribe, system_user):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    pay(subscription.periods.get(), system_user)
    clock("2026-12-05", 9)
    services.subscription_pause(subscription=subscription, actor=system_user)
    clock("2026-12-20", 9)
    services.subscription_resume(subscription=subscription, actor=system_user)
    subscription.refresh_from_db()
    assert subscription.billing_anchor == dt.date(2026, 12, 1)
    due_work_run(organization=organization, now=clock("2027-01-01", 10))
    assert subscription.periods.order_by("number").last().start == dt.date(2027, 1, 1)
