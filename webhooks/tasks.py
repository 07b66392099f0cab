"""Celery tasks of outgoing webhooks. Each takes ids, returns early when done, calls one service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from webhooks.services import (
    FAST_RETRY_MAX_SECONDS,
    deliveries_sweep,
    delivery_attempt,
    enqueue_deliveries,
)


@shared_task(name="webhooks.tasks.deliver", acks_late=True)
def deliver(delivery_id: int) -> str:
    """One attempt of one delivery, if it is due; a duplicate or late redelivery does nothing."""
    delivery = delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return "not due"
    # A short retry (the 5 s step, a short Retry-After) goes through the broker right away; longer
    # waits stay in the database column and the sweeper queues them when due.
    if delivery.status == delivery.Status.PENDING and delivery.next_attempt_at is not None:
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        if wait <= FAST_RETRY_MAX_SECONDS:
            enqueue_deliveries([delivery.pk], countdown=max(wait, 0))
    return delivery.status


@shared_task(name="webhooks.tasks.sweep")
def sweep() -> int:
    """Beat: queue due deliveries (retries, and outbox rows whose fast path was lost)."""
    return deliveries_sweep()
