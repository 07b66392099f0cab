"""Celery tasks of outgoing webhooks. Each takes ids, returns early when done, calls one service."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(name="webhooks.tasks.deliver", acks_late=True)
def deliver(delivery_id: int) -> str:
    """One attempt of one delivery, if it is due; a duplicate or late redelivery does nothing."""
    delivery = services.delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return "not due"
    # A short retry (the 5 s step, a short Retry-After) goes through the broker right away; longer
    # waits stay in the database column and the sweeper queues them when due.
    if delivery.status == delivery.Status.PENDING and delivery.next_attempt_at is not None:
        from django.utils import timezone

        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        if wait <= services.FAST_RETRY_MAX_SECONDS:
            services.enqueue_deliveries([delivery.pk], countdown=max(wait, 0))
    return delivery.status


@shared_task(name="webhooks.tasks.sweep")
def sweep() -> int:
    """Beat: queue due deliveries (retries, and outbox rows whose fast path was lost)."""
    return services.deliveries_sweep()
