"""Billing tasks: take ids, load, return early when done, call one service."""

from __future__ import annotations

from celery import shared_task

from billing.services import notification_send as _notification_send


@shared_task(name="billing.tasks.notification_send", acks_late=True)
def notification_send(notification_id: int) -> bool:
    """Send one queued reminder; a reminder already sent is left alone."""
    return _notification_send(notification_id=notification_id) is not None
