"""Webhook receivers misbehaving, over a real Celery worker and a Redis of the test's own.

One worker (lease 12 s, so an attempt's deadline is 3 s) delivers to five receivers, one event
each, as specified in docs/exceptions-and-webhooks.md:

- 500, then 200: attempt 1 failed (``HTTP 500``), attempt 2 due 5 s later (the schedule's
  second step), taken by the worker's fast path, delivered;
- 410 Gone: the delivery fails, the endpoint is disabled (reason recorded), the
  ``webhook_delivery_failed`` case opens; a later event makes no delivery to it;
- hanging past the deadline: attempt 1 is cut off at the deadline and recorded as such (within
  its lease: never "lost"), attempt 2 five seconds later delivered;
- a 200 whose body stops half-way (connection closed): a failed attempt, retried, delivered;
- 500 on the schedule's last attempt (the nine before are in the log): the delivery fails and
  the case opens, with nothing left to retry.

The same ``webhook-id`` reaches a receiver at every attempt of its event.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack

import pytest
from django.utils import timezone

from core.actors import system_actor
from core.models import Organization
from tests.reliability.live import (
    beat_send,
    broker,
    own_redis,
    scripted_receiver,
    wait_until,
    worker_pool,
)

pytestmark = [pytest.mark.postgres, pytest.mark.long]
LEASE_SECONDS = 12
DEADLINE_SECONDS = LEASE_SECONDS / 4
WAIT = 240


def test_misbehaving_receivers_over_a_real_worker(transactional_db, settings):
    from exceptionqueue.models import ExceptionCase
    from webhooks.events import attempt_log_write
    from webhooks.models import WebhookAttempt, WebhookDelivery
    from webhooks.services import (
        MAX_ATTEMPTS,
        SCHEDULE,
        endpoint_create,
        event_emit,
    )
    from webhooks.services.sending import Outcome

    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True  # the receivers are on loopback
    organization = Organization.objects.create(slug="receivers", name="Receivers")
    actor = system_actor("reliability")
    kinds = {
        "500": "payment.verified",
        "410": "payment.declined",
        "hang": "payment.expired",
        "cut": "payment.refunded",
        "last": "payout.completed",
    }
    with ExitStack() as stack:
        redis_url = stack.enter_context(own_redis())
        stack.enter_context(broker(redis_url))
        receivers = {name: stack.enter_context(scripted_receiver()) for name in kinds}
        receivers["500"].then(500)
        receivers["410"].then(410)
        receivers["hang"].then(("hang", LEASE_SECONDS * 2))
        receivers["cut"].then("cut")
        receivers["last"].then(500)
        endpoints = {
            name: endpoint_create(
                organization=organization,
                url=receivers[name].url,
                event_types=[event_type],
                actor=actor,
            )
            for name, event_type in kinds.items()
        }
        start = stack.enter_context(worker_pool(redis_url))

        def emit(name: str, number: int = 1):
            return event_emit(
                organization=organization,
                event_type=kinds[name],
                subject="receiver-test",
                subject_id=number,
                data={"receiver": name, "number": number},
                dedup=f"{name}-{number}",
            )

        # The last attempt of the schedule: nine failed ones in the log, the tenth due now.
        last = emit("last")
        delivery = WebhookDelivery.objects.get(event=last)
        now = timezone.now()
        for number in range(1, MAX_ATTEMPTS):
            attempt_log_write(
                delivery=delivery,
                attempt=number,
                started_at=now - dt.timedelta(days=3) + dt.timedelta(hours=number),
                outcome=Outcome(500, 5, error="HTTP 500"),
            )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=MAX_ATTEMPTS - 1,
            round_attempts=MAX_ATTEMPTS - 1,
            next_attempt_at=now,
            queued_at=None,
        )
        events = {name: emit(name) for name in ("500", "410", "hang", "cut")}
        events["last"] = last
        start(PAYOPS_WEBHOOKS_LEASE_SECONDS=str(LEASE_SECONDS))
        beat_send(redis_url, "webhooks.tasks.sweep")  # the "last" delivery is due by the column

        def settled():
            return not WebhookDelivery.objects.filter(
                organization=organization, status=WebhookDelivery.Status.PENDING
            ).exists()

        wait_until(settled, timeout=WAIT, every=0.5, what="every delivery settled")
        later = emit("410", 2)  # after the endpoint was disabled

    deliveries = {
        name: WebhookDelivery.objects.get(event=events[name], endpoint=endpoints[name])
        for name in kinds
    }

    def log(name):
        return list(WebhookAttempt.objects.filter(delivery=deliveries[name]).order_by("attempt"))

    for name in ("500", "hang", "cut"):
        assert deliveries[name].status == "succeeded", (name, deliveries[name].last_error)
        first, second = log(name)
        assert first.status_code == (500 if name == "500" else None)
        assert second.status_code == 200
        # The schedule's second step, and the retry waited for it.
        assert first.next_attempt_at == first.started_at + SCHEDULE[1]
        assert second.started_at >= first.next_attempt_at
        hits = receivers[name].hits
        assert [hit["id"] for hit in hits] == [events[name].id] * 2
    assert log("500")[0].error == "HTTP 500"
    assert log("hang")[0].error.startswith(f"no complete answer within {DEADLINE_SECONDS:g} s")
    assert log("cut")[0].error.startswith("RemoteProtocolError")

    gone = deliveries["410"]
    assert (gone.status, gone.last_status_code) == ("failed", 410)
    assert [row.status_code for row in log("410")] == [410]
    endpoint = endpoints["410"]
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "410 Gone" in endpoint.disabled_reason
    assert not WebhookDelivery.objects.filter(event=later).exists()  # nothing to a disabled one
    assert len(receivers["410"].hits) == 1

    exhausted = deliveries["last"]
    assert (exhausted.status, exhausted.attempts) == ("failed", MAX_ATTEMPTS)
    assert [row.status_code for row in log("last")][-1] == 500
    assert len(receivers["last"].hits) == 1

    cases = ExceptionCase.objects.filter(organization=organization, kind="webhook_delivery_failed")
    assert sorted(cases.values_list("dedup_key", flat=True)) == sorted(
        f"webhook_delivery_failed:endpoint:{endpoints[name].pk}" for name in ("410", "last")
    )
    assert set(cases.values_list("status", flat=True)) == {"open"}
