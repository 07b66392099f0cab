"""Delivery: the attempts of one event to one endpoint, their schedule and their outcome.

Delivery is at-least-once with a stable ``webhook-id``: an attempt is claimed in a short
transaction (row lock, state check, a lease in ``next_attempt_at``), the HTTP request runs outside
any transaction (``sending``), and its outcome is recorded in a second short transaction. A task
redelivered by the broker (late acks), a duplicate from the sweeper, or a worker that died
mid-request all end in at most one more attempt, never in two concurrent ones.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction

from core.actors import system_actor
from core.audit import save_audited
from core.fsm import transition_apply
from exceptionqueue.services import exception_clear, exception_raise
from webhooks import selectors
from webhooks.events import attempt_log_write, attempt_logged
from webhooks.exception_kinds import WEBHOOK_DELIVERY_FAILED
from webhooks.locks import delivery_claim_lock, delivery_record_lock
from webhooks.models import WebhookDelivery
from webhooks.services import sending
from webhooks.services.common import DELIVERY_JOB, now_or_current
from webhooks.services.endpoints import endpoint_disable
from webhooks.services.sending import Outcome

logger = logging.getLogger("webhooks.services")

# The Standard Webhooks retry schedule: the delay before attempt n (1-based) is SCHEDULE[n-1].
SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(0),
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=14),
    dt.timedelta(hours=20),
    dt.timedelta(hours=24),
)
MAX_ATTEMPTS = len(SCHEDULE)
# A claimed attempt holds the row this long (four times the attempt deadline, for the DNS check
# and the two short transactions around it); a worker that died mid-request leaves it to the
# sweeper afterwards, and a late outcome after someone else claimed the row is ignored.
# ``PAYOPS_WEBHOOKS_LEASE_SECONDS`` (60 s by default; the fault tests shorten it).
LEASE = dt.timedelta(seconds=settings.PAYOPS_WEBHOOKS_LEASE_SECONDS)
# Retries due within this many seconds are also queued with a countdown (fast path).
FAST_RETRY_MAX_SECONDS = 30
LOST_ATTEMPT_ERROR = "no outcome recorded: the worker stopped, or answered after its lease expired"


def delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> WebhookDelivery | None:
    """Make the next attempt of a due delivery (claim, POST, record). None if nothing was due."""
    now = now_or_current(now)
    delivery = _claim(delivery_id, now=now)
    if delivery is None:
        return None
    if not delivery.endpoint.enabled:
        outcome = Outcome(None, 0, error=f"endpoint disabled: {delivery.endpoint.disabled_reason}")
    else:
        outcome = sending.event_send(delivery.endpoint, delivery.event, now=now, lease=LEASE)
    return _record(delivery_id=delivery.pk, attempt=delivery.attempts, outcome=outcome, now=now)


# --- claim ------------------------------------------------------------------------------------


@transaction.atomic
def _claim(delivery_id: int, *, now: dt.datetime) -> WebhookDelivery | None:
    """Take the next attempt of a due delivery: row lock, state and due-time check, a lease.

    If the previous attempt was claimed but never recorded (its worker died, or its outcome came
    after the lease expired), it is logged as lost first; if it was the last one the schedule
    allows, the delivery fails here (with its exception case) instead of being retried for ever.
    """
    delivery = delivery_claim_lock(delivery_id)
    if delivery is None:  # gone, or another worker holds it right now
        return None
    if delivery.status != WebhookDelivery.Status.PENDING or delivery.next_attempt_at > now:
        return None  # done already, or not due (a duplicate task, or a live lease)
    actor = system_actor(DELIVERY_JOB)
    if _lost_attempt_settle(delivery, now=now, actor=actor):
        return None
    delivery.attempts += 1
    delivery.round_attempts += 1
    delivery.next_attempt_at = now + LEASE
    save_audited(
        delivery,
        actor=actor,
        reason=f"attempt {delivery.attempts} started (lease {LEASE.total_seconds():g} s)",
        update_fields=["attempts", "round_attempts", "next_attempt_at"],
    )
    return delivery


def _lost_attempt_settle(delivery: WebhookDelivery, *, now: dt.datetime, actor) -> bool:
    """Log the previous attempt as lost if it was claimed and never recorded; True when it was
    the last the schedule allows and the delivery failed."""
    if delivery.round_attempts == 0 or attempt_logged(delivery=delivery, attempt=delivery.attempts):
        return False
    attempt_log_write(
        delivery=delivery,
        attempt=delivery.attempts,
        started_at=delivery.next_attempt_at - LEASE,
        error=LOST_ATTEMPT_ERROR,
    )
    if delivery.round_attempts < MAX_ATTEMPTS:
        return False
    transition_apply(delivery, "fail", what="delivery")
    delivery.failed_at = now
    delivery.next_attempt_at = None
    delivery.last_status_code = None
    delivery.last_error = LOST_ATTEMPT_ERROR
    save_audited(
        delivery, actor=actor, reason=f"attempt {delivery.attempts}: lost, no attempt left"
    )
    _failure_case_raise(delivery, actor=actor)
    return True


# --- record -----------------------------------------------------------------------------------


@transaction.atomic
def _record(
    *, delivery_id: int, attempt: int, outcome: Outcome, now: dt.datetime
) -> WebhookDelivery:
    """Record the outcome of attempt ``attempt``: the next state, the log row, the case."""
    actor = system_actor(DELIVERY_JOB)
    delivery = delivery_record_lock(delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING or delivery.attempts != attempt:
        # A stale outcome: the lease expired and the row moved on (another attempt was claimed,
        # or this one was logged as lost). Recording it would overwrite a newer state.
        logger.warning(
            "webhook delivery %s: outcome of attempt %s ignored (now attempt %s, %s)",
            delivery.pk,
            attempt,
            delivery.attempts,
            delivery.status,
        )
        return delivery
    reason, next_at = _outcome_apply(delivery, attempt, outcome, now=now, actor=actor)
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    save_audited(delivery, actor=actor, reason=reason)
    attempt_log_write(
        delivery=delivery, attempt=attempt, started_at=now, outcome=outcome, next_attempt_at=next_at
    )
    _failure_case_follow(delivery, actor=actor)
    return delivery


def _outcome_apply(
    delivery: WebhookDelivery, attempt: int, outcome: Outcome, *, now: dt.datetime, actor
) -> tuple[str, dt.datetime | None]:
    """Move the locked delivery by the outcome: delivered, failed (410 Gone, no attempt left,
    endpoint disabled) or due again by the schedule. Returns the audit reason and next time."""
    endpoint = delivery.endpoint
    if outcome.ok:
        transition_apply(delivery, "succeed", what="delivery")
        delivery.succeeded_at = now
        delivery.next_attempt_at = None
        return f"attempt {attempt}: delivered ({outcome.status_code})", None
    if outcome.status_code == 410:
        _fail(delivery, now=now)
        endpoint_disable(
            endpoint=endpoint,
            reason=f"The receiver answered 410 Gone to {delivery.event_id}.",
            actor=actor,
            now=now,
        )
        return f"attempt {attempt}: 410 Gone, endpoint disabled", None
    if delivery.round_attempts >= MAX_ATTEMPTS or not endpoint.enabled:
        _fail(delivery, now=now)
        return f"attempt {attempt}: failed, no attempt left", None
    delay = SCHEDULE[delivery.round_attempts]
    if outcome.retry_after is not None and outcome.retry_after > delay:
        delay = outcome.retry_after
    next_at = now + delay
    delivery.next_attempt_at = next_at
    return f"attempt {attempt}: failed, next at {next_at.isoformat()}", next_at


def _fail(delivery: WebhookDelivery, *, now: dt.datetime) -> None:
    transition_apply(delivery, "fail", what="delivery")
    delivery.failed_at = now
    delivery.next_attempt_at = None


# --- the exception case -----------------------------------------------------------------------


def _failure_case_key(endpoint) -> str:
    return f"webhook_delivery_failed:endpoint:{endpoint.pk}"


def _failure_case_follow(delivery: WebhookDelivery, *, actor) -> None:
    """A failed delivery raises (refreshes) its endpoint's case; a success clears it once no
    delivery of that endpoint is failed any more."""
    if delivery.status == WebhookDelivery.Status.FAILED:
        _failure_case_raise(delivery, actor=actor)
    elif delivery.status == WebhookDelivery.Status.SUCCEEDED and not (
        selectors.deliveries_failed_exist(endpoint=delivery.endpoint)
    ):
        exception_clear(
            organization=delivery.organization,
            dedup_key=_failure_case_key(delivery.endpoint),
            actor=actor,
            note="Every failed delivery of this endpoint was delivered since.",
        )


def _failure_case_raise(delivery: WebhookDelivery, *, actor) -> None:
    """One open ``webhook_delivery_failed`` case per endpoint, refreshed by every failure."""
    endpoint = delivery.endpoint
    failed = selectors.deliveries_failed_count(endpoint=endpoint)
    details = {
        "endpoint_id": endpoint.pk,
        "failed_deliveries": failed,
        "last_event_id": delivery.event_id,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
    }
    exception_raise(
        organization=delivery.organization,
        kind=WEBHOOK_DELIVERY_FAILED,
        dedup_key=_failure_case_key(endpoint),
        message=f"Webhook deliveries to {endpoint.url} failed after retries "
        f"({failed} undelivered; last: {delivery.event.event_type} {delivery.event_id}, "
        f"{delivery.last_error or delivery.last_status_code}).",
        actor=actor,
        subject=endpoint,
        details=details,
    )
