"""Grace: a live subscription with a period still unpaid at its block date is suspended.

The due work's sweep suspends the overdue subscriptions of an organisation in batches of
``SUSPEND_BATCH``, one transaction each, under their locks (``billing.locks``: subscriptions by
id, ``FOR NO KEY UPDATE``); a subscription that left the live states meanwhile is skipped.
Each is what ``subscription_move(..., "mark_suspended")`` writes one at a time: the status with
its history row (actor, reason), the ``suspended`` billing event and its webhook, and, for an
entitlement that was active, the entitlement made inactive with its history row, event and
webhook. On PostgreSQL the rows are written set-based (one UPDATE per step, history rows and
events by ``INSERT … SELECT``); elsewhere one subscription at a time.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from billing import events
from billing.locks import subscription_lock
from billing.models import Subscription
from billing.services.subscriptions import subscription_move

SUSPEND_BATCH = 500
GRACE_OVER = "unpaid at the block date (grace over)"


@transaction.atomic
def subscriptions_suspend(
    *, organization, subscription_ids: list[int], actor, now: dt.datetime, comment: str
) -> int:
    """Suspend the live ones of ``subscription_ids`` (one organisation's), under their locks;
    returns how many this call suspended."""
    if connection.vendor != "postgresql":
        suspended = 0
        for subscription_id in sorted(subscription_ids):
            subscription = subscription_lock(subscription_id)
            if subscription.status in Subscription.LIVE:
                subscription_move(
                    subscription, "mark_suspended", actor=actor, now=now, comment=comment
                )
                suspended += 1
        return suspended
    from core.bulk import history_insert, qn

    rows = list(
        Subscription.objects.select_for_update(of=("self",), no_key=True)
        .filter(organization=organization, pk__in=subscription_ids, status__in=Subscription.LIVE)
        .order_by("pk")
        .values(*events.SUBSCRIPTION_DATA_FIELDS)
    )
    if not rows:
        return 0
    table = qn(Subscription._meta.db_table)
    when = timezone.now()
    ids = [row["id"] for row in rows]
    # mark_suspended: its sources are the live states, locked and filtered above.
    Subscription.objects.filter(pk__in=ids).update(status=Subscription.Status.SUSPENDED)
    history_insert(
        Subscription,
        source=f"FROM {table} t WHERE t.id = ANY(%s) ORDER BY t.id",
        params=[ids],
        actor=actor,
        reason=comment,
        when=when,
    )
    for row in rows:
        row["status"] = Subscription.Status.SUSPENDED
    events.subscription_changed_bulk(
        rows, organization=organization, actor=actor, now=now, comment=comment
    )
    # entitlement_refresh: a subscription that is not live is not entitled.
    lapsed = [row for row in rows if row["entitlement_active"]]
    if lapsed:
        lapsed_ids = [row["id"] for row in lapsed]
        Subscription.objects.filter(pk__in=lapsed_ids).update(entitlement_active=False)
        history_insert(
            Subscription,
            source=f"FROM {table} t WHERE t.id = ANY(%s) ORDER BY t.id",
            params=[lapsed_ids],
            actor=actor,
            reason=comment,
            when=when,
        )
        for row in lapsed:
            row["entitlement_active"] = False
        events.entitlement_changed_bulk(
            lapsed, organization=organization, actor=actor, now=now, comment=comment
        )
    return len(rows)
