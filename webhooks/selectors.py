"""Reads of outgoing webhooks (functions that change nothing)."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

from core.models import Organization
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of the pending deliveries whose next attempt has come, the oldest first."""
    now = now if now is not None else timezone.now()
    return list(_pending_due(now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def deliveries_due_unqueued(*, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[int]:
    """Due deliveries not handed to Celery since they became due (or whose hand-off is older
    than a lease: lost in the broker), the oldest first."""
    return list(
        _pending_due(now)
        .filter(
            models.Q(queued_at__isnull=True)
            | models.Q(queued_at__lt=models.F("next_attempt_at"))
            | models.Q(queued_at__lt=now - lease)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def _pending_due(now: dt.datetime) -> models.QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    )


def endpoints_enabled(*, organization: Organization) -> models.QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization=organization, enabled=True)


def delivery_find(*, event: WebhookEvent, endpoint: WebhookEndpoint) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(event=event, endpoint=endpoint).first()


def deliveries_failed_count(*, endpoint: WebhookEndpoint) -> int:
    return _failed(endpoint=endpoint).count()


def deliveries_failed_exist(*, endpoint: WebhookEndpoint) -> bool:
    return _failed(endpoint=endpoint).exists()


def _failed(**filters) -> models.QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED, **filters)


def deliveries_failed_in_range(
    *,
    organization: Organization,
    start: dt.datetime,
    end: dt.datetime,
    endpoint: WebhookEndpoint | None = None,
) -> models.QuerySet[WebhookDelivery]:
    """Failed deliveries to enabled endpoints whose event happened in [start, end), oldest first."""
    failed = _failed(organization=organization, endpoint__enabled=True).filter(
        event__created_at__gte=start, event__created_at__lt=end
    )
    failed = failed.order_by("event__created_at", "pk")
    if endpoint is not None:
        failed = failed.filter(endpoint=endpoint)
    return failed


def event_find(*, event_id: str) -> WebhookEvent | None:
    return WebhookEvent.objects.filter(pk=event_id).first()
