"""Replay: send events again (same ``webhook-id``, same body), one event or a range of failures."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from core.audit import save_audited
from core.errors import CoreError
from core.fsm import transition_apply
from core.models import Organization
from webhooks import selectors
from webhooks.errors import WebhookError
from webhooks.locks import delivery_lock
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services.common import now_or_current
from webhooks.services.dispatch import enqueue_deliveries_on_commit


def _replay(delivery: WebhookDelivery, *, actor, now: dt.datetime) -> WebhookDelivery:
    delivery = delivery_lock(delivery)
    if delivery.status == WebhookDelivery.Status.PENDING:
        return delivery  # already on its way
    # The sources cover every other state: a refusal here would be a new state's oversight.
    transition_apply(delivery, "replay", message="This delivery cannot be replayed.")
    delivery.round_attempts = 0
    delivery.replays += 1
    delivery.next_attempt_at = now
    delivery.succeeded_at = None
    delivery.failed_at = None
    save_audited(delivery, actor=actor, reason="replayed")
    return delivery


def _delivery_to_new_endpoint(
    event: WebhookEvent, endpoint: WebhookEndpoint, *, actor, now: dt.datetime
) -> WebhookDelivery:
    """A first delivery of ``event`` to an endpoint that had none (it listens to it since)."""
    delivery = WebhookDelivery.first_of(event, endpoint, now=now)
    return save_audited(delivery, actor=actor, reason="replayed to a new endpoint")


@transaction.atomic
def event_replay(
    *,
    event: WebhookEvent,
    endpoint: WebhookEndpoint | None = None,
    actor,
    now: dt.datetime | None = None,
) -> list[WebhookDelivery]:
    """Send one event again (same ``webhook-id``, same body) to its endpoints, or one endpoint.

    An enabled endpoint that now listens to the event but had no delivery gets one.
    """
    now = now_or_current(now)
    endpoints = selectors.endpoints_enabled(organization=event.organization)
    if endpoint is not None:
        if endpoint.organization_id != event.organization_id:
            raise CoreError.NOT_FOUND.error("No such endpoint.")
        if not endpoint.enabled:
            raise WebhookError.ENDPOINT_DISABLED.error()
        endpoints = endpoints.filter(pk=endpoint.pk)
    replayed = []
    for target in endpoints:
        delivery = selectors.delivery_find(event=event, endpoint=target)
        if delivery is not None:
            replayed.append(_replay(delivery, actor=actor, now=now))
        elif target.accepts(event.event_type):
            replayed.append(_delivery_to_new_endpoint(event, target, actor=actor, now=now))
    enqueue_deliveries_on_commit([d.pk for d in replayed])
    return replayed


@transaction.atomic
def deliveries_replay_failed(
    *,
    organization: Organization,
    start: dt.datetime,
    end: dt.datetime,
    actor,
    endpoint: WebhookEndpoint | None = None,
    now: dt.datetime | None = None,
) -> list[WebhookDelivery]:
    """Replay every failed delivery whose event happened in [start, end) (to enabled endpoints)."""
    now = now_or_current(now)
    if end <= start:
        raise WebhookError.INVALID_RANGE.error()
    failed = selectors.deliveries_failed_in_range(
        organization=organization, start=start, end=end, endpoint=endpoint
    )
    replayed = [_replay(d, actor=actor, now=now) for d in failed]
    enqueue_deliveries_on_commit([d.pk for d in replayed])
    return replayed
