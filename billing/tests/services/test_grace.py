"""Grace: the sweep suspends the overdue subscriptions set-based, with the audit rows that
``subscription_move`` writes one at a time (issue 14)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing import services
from billing.locks import subscription_lock
from billing.models import BillingEvent, Subscription
from billing.services.due import billing_due_work
from billing.services.grace import GRACE_OVER
from billing.services.subscriptions import subscription_move
from webhooks.models import WebhookEvent
from webhooks.services import event_id_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _members(organization, subscribe, system_user, count):
    subscriptions = []
    for number in range(count):
        customer = services.customer_create(
            organization=organization,
            external_ref=f"grace-{number}",
            name=f"Member {number}",
            language="en",
            email=f"g{number}@example.am",
            actor=system_user,
        )
        subscription = subscribe("2026-12-01", customer=customer)
        services.entitlement_override(
            subscription=subscription,
            until=dt.date(2026, 12, 2),
            reason="paid at the desk",
            actor=system_user,
        )
        subscriptions.append(subscription)
    return subscriptions


def _audit(subscription: Subscription, *, now) -> dict:
    """What the suspension at ``now`` wrote for ``subscription``, without its ids."""
    pk = subscription.pk
    history = [
        (h.status, h.entitlement_active, h.history_change_reason, h.history_user_id, h.history_type)
        for h in subscription.history.order_by("-history_id")[:2]
    ]
    events = BillingEvent.objects.filter(
        subscription=subscription,
        kind__in=["suspended", "entitlement_changed"],
        occurred_at=now,
    ).order_by("id")
    hooks = []
    for event in events:
        hook = WebhookEvent.objects.get(dedup=f"billing_event:{event.pk}")
        assert hook.id == event_id_for(
            organization=subscription.organization,
            event_type=hook.event_type,
            subject="subscription",
            subject_id=str(pk),
            dedup=hook.dedup,
        )
        body = json.loads(hook.body)
        assert body == {
            "type": hook.event_type,
            "timestamp": body["timestamp"],
            "data": hook.data,
        }
        assert hook.body == json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        data = {
            key: value
            for key, value in hook.data.items()
            if key not in ("id", "customer", "subscription")
        }
        hooks.append((hook.event_type, hook.subject_type, hook.subject_id == str(pk), data))
    return {
        "history": history,
        "events": [(e.kind, e.comment, e.data, e.actor_id, e.occurred_at) for e in events],
        "hooks": hooks,
    }


def test_the_sweep_suspends_set_based_with_the_rows_of_subscription_move(
    organization, clock, subscribe, system_user
):
    clock("2026-12-01", 8)
    reference, *swept = _members(organization, subscribe, system_user, 4)
    billing_due_work(organization=organization, now=clock("2026-12-01", 10), actor=system_user)
    # The links expire unpaid (past due; retries), all before the block date.
    billing_due_work(organization=organization, now=clock("2026-12-07", 23), actor=system_user)
    assert set(Subscription.objects.values_list("status", flat=True)) == {"past_due"}
    now = clock("2026-12-08", 1)  # the block date (7 grace days); entitled through 12-10
    with transaction.atomic():  # one at a time, as the sweep did before
        subscription_move(
            subscription_lock(reference),
            "mark_suspended",
            actor=system_user,
            now=now,
            comment=GRACE_OVER,
        )

    with CaptureQueriesContext(connection) as ctx:
        ran = billing_due_work(organization=organization, now=now, actor=system_user)

    assert ran["billing_suspended"] == 3
    set_based = 'INSERT INTO "billing_historicalsubscription"'
    history_inserts = [q for q in ctx.captured_queries if set_based in q["sql"]]
    # suspended, then the entitlement inactive: two INSERTs whatever the count
    assert len(history_inserts) == 2, [q["sql"][:200] for q in history_inserts]
    expected = _audit(Subscription.objects.get(pk=reference.pk), now=now)
    assert expected["history"] == [
        ("suspended", False, GRACE_OVER, system_user.pk, "~"),
        ("suspended", True, GRACE_OVER, system_user.pk, "~"),
    ]
    assert [kind for kind, *_ in expected["events"]] == ["suspended", "entitlement_changed"]
    assert [hook[0] for hook in expected["hooks"]] == [
        "subscription.suspended",
        "entitlement.changed",
    ]
    for subscription in swept:
        subscription.refresh_from_db()
        assert (subscription.status, subscription.entitlement_active) == ("suspended", False)
        assert _audit(subscription, now=now) == expected

    # Again: nothing more to suspend, no second event.
    assert (
        billing_due_work(organization=organization, now=now, actor=system_user)["billing_suspended"]
        == 0
    )
    assert BillingEvent.objects.filter(kind="suspended").count() == 4
