"""The row locks of outgoing webhooks, and the order they are taken in.

Lock order: a **delivery** row, then its **endpoint** row. Recording an outcome locks the delivery
and, on a 410 Gone, disables (locks) its endpoint in the same transaction; nothing locks an
endpoint and then one of its deliveries. Events are never locked: they are append-only outbox rows
whose derived id decides between concurrent emits.

Services take locks only through these helpers.
"""

from __future__ import annotations

from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoint_lock(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """The endpoint, re-read under its row lock."""
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


def delivery_lock(delivery: WebhookDelivery) -> WebhookDelivery:
    """The delivery, re-read under its row lock (a replay)."""
    return WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)


def delivery_claim_lock(delivery_id: int) -> WebhookDelivery | None:
    """The delivery with its endpoint, event and organisation, its own row locked; None when it
    is gone or another worker holds it right now (``skip_locked``)."""
    return (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint", "event", "organization")
        .filter(pk=delivery_id)
        .first()
    )


def delivery_record_lock(delivery_id: int) -> WebhookDelivery:
    """The delivery with its endpoint, event and organisation, its own row locked, to record an
    attempt's outcome. Only the delivery's row: a FOR UPDATE on the joined organisation (or
    event, or endpoint) would hold up every insert that references it (their foreign keys take
    KEY SHARE); a 410 locks the endpoint through ``endpoint_lock``, after the delivery."""
    return (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint", "event", "organization")
        .get(pk=delivery_id)
    )
