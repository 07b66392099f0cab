"""The due work's periods step: only the subscriptions whose periods do not reach today are
locked and extended (issue 14: at 100,000 subscriptions a per-subscription lock every minute)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillingPeriod
from billing.services import billing_due_work

pytestmark = pytest.mark.django_db(transaction=True)


def _subscription_locks(ctx) -> int:
    return sum(
        'FROM "billing_subscription"' in q["sql"] and "FOR NO KEY UPDATE" in q["sql"]
        for q in ctx.captured_queries
    )


def test_covered_subscriptions_are_not_locked_and_the_next_period_still_comes(
    organization, clock, subscribe, system_user
):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    billing_due_work(organization=organization, now=clock("2026-12-01", 10), actor=system_user)
    assert subscription.periods.count() == 1
    subscription.periods.update(status=BillingPeriod.Status.PAID)  # nothing else to do

    with CaptureQueriesContext(connection) as ctx:
        counts = billing_due_work(
            organization=organization, now=clock("2026-12-15", 10), actor=system_user
        )
    assert counts["billing_periods_created"] == 0
    assert _subscription_locks(ctx) == 0  # its period covers today: not locked

    counts = billing_due_work(
        organization=organization, now=clock("2027-01-01", 10), actor=system_user
    )
    assert counts["billing_periods_created"] == 1  # the next month's period, as before
    assert subscription.periods.count() == 2


def test_a_subscription_to_cancel_at_period_end_is_cancelled_when_its_period_ends(
    organization, clock, subscribe, system_user
):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    billing_due_work(organization=organization, now=clock("2026-12-01", 10), actor=system_user)
    subscription.periods.update(status=BillingPeriod.Status.PAID)
    type(subscription).objects.filter(pk=subscription.pk).update(cancel_at_period_end=True)
    billing_due_work(organization=organization, now=clock("2026-12-20", 10), actor=system_user)
    subscription.refresh_from_db()
    assert subscription.status != "cancelled"
    billing_due_work(organization=organization, now=clock("2027-01-01", 10), actor=system_user)
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    assert subscription.periods.count() == 1
