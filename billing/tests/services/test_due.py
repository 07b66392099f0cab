"""The due work's periods step: only the subscriptions whose periods do not reach today are
locked and extended (issue 14: at 100,000 subscriptions a per-subscription lock every minute)."""

import json
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillingPeriod
from billing.services import billing_due_work, due

pytestmark = pytest.mark.django_db(transaction=True)


def test_covered_subscriptions_are_not_locked_and_the_next_period_still_comes(
    organization, clock, subscribe, system_user
):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    billing_due_work(organization=organization, now=clock("2026-12-01", 10), actor=system_user)
    assert subscription.periods.count() == 1
    subscription.periods.update(status=BillingPeriod.Status.PAID)  # nothing else to do

    with mock.patch.object(due, "periods_extend", wraps=due.periods_extend) as extend:
        counts = billing_due_work(
            organization=organization, now=clock("2026-12-15", 10), actor=system_user
        )
    assert counts["billing_periods_created"] == 0
    assert extend.call_count == 0  # its period covers today: not locked, not extended

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


def _members(organization, subscribe, system_user, count: int, start: str):
    from billing import services

    subscriptions = []
    for number in range(count):
        customer = services.customer_create(
            organization=organization,
            external_ref=f"batch-{start}-{number}",
            name=f"Member {number}",
            language="en",
            email=f"m{number}@example.am",
            actor=system_user,
        )
        subscriptions.append(subscribe(start, customer=customer))
    return subscriptions


def test_due_attempts_are_made_set_based_with_the_same_audit_rows(
    organization, clock, subscribe, system_user
):
    """Issue 14: the due attempts are made in batches (a fixed number of statements whatever
    the count) and write what one attempt at a time wrote: the period invoiced then pending,
    each with a history row (actor, reason), a billing event and a webhook; the payment with its
    history row and ``created`` event; the attempt with its history row."""
    from billing.events import period_data
    from billing.models import Attempt, BillingEvent
    from payments.models import PaymentEvent
    from webhooks.models import WebhookEvent
    from webhooks.services import event_id_for

    clock("2026-12-01", 8)
    subscriptions = _members(organization, subscribe, system_user, 2, "2026-12-01")

    def inserts(now) -> dict[str, int]:
        """How many INSERT statements per table the due work sends (the gateway left out)."""
        with (
            mock.patch.object(due, "attempt_send", lambda *, attempt, actor: attempt),
            CaptureQueriesContext(connection) as ctx,
        ):
            billing_due_work(organization=organization, now=now, actor=system_user)
        tables = ("payments_payment", "billing_attempt", "billing_historicalbillingperiod")
        return {
            t: sum(f'INSERT INTO "{t}"' in q["sql"] for q in ctx.captured_queries) for t in tables
        }

    assert inserts(clock("2026-12-01", 10)) == {
        "payments_payment": 1,
        "billing_attempt": 1,
        "billing_historicalbillingperiod": 2,  # invoiced, then pending
    }
    _members(organization, subscribe, system_user, 6, "2026-12-02")
    assert inserts(clock("2026-12-02", 10)) == {  # 6 attempts: the same statements as 2
        "payments_payment": 1,
        "billing_attempt": 1,
        "billing_historicalbillingperiod": 2,
    }

    attempts = Attempt.objects.filter(organization=organization)
    assert attempts.count() == 8
    assert set(attempts.values_list("number", "status")) == {(1, "pending")}
    period = subscriptions[0].periods.get()
    attempt = period.attempts.get()
    assert period.status == "pending"
    assert attempt.payment.amount == period.expected_amount
    assert attempt.order_number == attempt.payment.order_number
    assert [(h.status, h.history_change_reason, h.history_user) for h in period.history.all()][
        :2
    ] == [
        ("pending", "attempt 1 pending", system_user),
        ("invoiced", "invoiced", system_user),
    ]
    assert [(h.history_change_reason, h.history_user) for h in attempt.history.all()] == [
        ("attempt 1", system_user)
    ]
    assert [(h.history_change_reason, h.history_user) for h in attempt.payment.history.all()] == [
        ("payment created", system_user)
    ]
    assert list(PaymentEvent.objects.filter(payment=attempt.payment).values_list("kind")) == [
        ("created",)
    ]
    events = (
        BillingEvent.objects.filter(period=period).exclude(kind="period_scheduled").order_by("id")
    )
    assert [(e.kind, e.actor_id) for e in events] == [
        ("period_invoiced", system_user.pk),
        ("period_pending", system_user.pk),
    ]
    assert events[1].data == {
        "attempt": attempt.pk,
        "number": 1,
        "order_number": attempt.order_number,
    }
    hooks = WebhookEvent.objects.filter(
        subject_type="billing_period", subject_id=str(period.pk)
    ).exclude(event_type="billing_period.scheduled")
    assert sorted(hooks.values_list("event_type", flat=True)) == [
        "billing_period.invoiced",
        "billing_period.pending",
    ]
    # The webhooks are those of ``period_changed``: id, dedup, data and the exact body.
    for event, status in zip(events, ("invoiced", "pending"), strict=True):
        hook = hooks.get(event_type=f"billing_period.{status}")
        assert hook.dedup == f"billing_event:{event.pk}"
        assert hook.id == event_id_for(
            organization=organization,
            event_type=hook.event_type,
            subject="billing_period",
            subject_id=str(period.pk),
            dedup=hook.dedup,
        )
        assert hook.data == {**period_data(period), "status": status}
        body = json.loads(hook.body)
        assert body == {"type": hook.event_type, "timestamp": body["timestamp"], "data": hook.data}
        assert hook.body == json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    # Run again: nothing new (the pending attempts are found, the unique keys hold).
    billing_due_work(organization=organization, now=clock("2026-12-02", 11), actor=system_user)
    assert attempts.count() == 8
