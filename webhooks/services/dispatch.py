"""Dispatch: handing deliveries to Celery (after commit), and the sweeper that catches up.

The database is the schedule (``next_attempt_at``); the broker only carries the fast path, so a
hand-off never raises and the sweeper queues whatever was lost.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

from django.db import transaction

from core.queueing import enqueue
from webhooks import selectors
from webhooks.models import WebhookDelivery
from webhooks.services.common import now_or_current
from webhooks.services.delivery import LEASE

DELIVER_TASK = "webhooks.tasks.deliver"


def enqueue_deliveries(delivery_ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Hand deliveries to Celery. Never raises: with the broker down the rows stay due in the
    database and the sweeper queues them once it is back. Returns how many were queued."""
    return enqueue(
        DELIVER_TASK, ([delivery_id] for delivery_id in delivery_ids), countdown=countdown
    )


def enqueue_deliveries_on_commit(delivery_ids: list[int]) -> None:
    """``enqueue_deliveries`` once the current transaction commits (nothing if it rolls back)."""
    if delivery_ids:
        transaction.on_commit(functools.partial(enqueue_deliveries, delivery_ids), robust=True)


def deliveries_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Queue every due delivery not queued since it became due (missed fast path, retries).

    Returns how many were queued. A delivery queued twice is harmless: the claim lets one in.
    """
    now = now_or_current(now)
    ids = selectors.deliveries_due_unqueued(now=now, lease=LEASE, limit=limit)
    if not ids:
        return 0
    queued = enqueue_deliveries(ids)
    if queued:
        WebhookDelivery.objects.filter(pk__in=ids[:queued]).update(queued_at=now)
    return queued
