"""Redis stopped while the API takes writes, then started again, with a real Celery worker.

A redis-server of the test's own (a free port, never the shared 6379) is the broker and cache of
a gunicorn (2 workers) and of a Celery worker. The API takes QR payments (each verified payment
writes a ``payment.verified`` outbox event) before, during and after a Redis outage:

- every write answers 201 during the outage (the throttle fails open, tasks are queued after
  commit and never raise) and is committed;
- after Redis is back, the sweeper queues what the outage lost and the worker delivers every
  event to the receiver exactly once (counted by ``webhook-id``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest

from conftest import make_api
from core.actors import system_actor
from core.models import Branch, Organization
from payments.models import Payment
from tests.reliability.live import (
    ROOT,
    celery_worker,
    free_port,
    gunicorn,
    process_kill,
    redis_start,
    server_env,
    worker_stop,
)
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = [pytest.mark.postgres, pytest.mark.long]
BEFORE, DURING, AFTER = 3, 10, 3


def _pay(http, token, code) -> httpx.Response:
    return http.post(
        "/api/v1/sandbox/qr-payments/",
        json={"qr_code": code, "amount": "1500.00", "currency": "AMD", "outcome": "approved"},
        headers={"Authorization": f"Token {token}"},
    )


def test_a_redis_outage_loses_no_write_and_no_event(transactional_db, receiver):
    from payouts import services as payouts
    from webhooks.services import endpoint_create

    actor = system_actor("reliability")
    organization = Organization.objects.create(slug="outage-org", name="Outage Org")
    branch = Branch.objects.create(organization=organization, code="main", name="Main")
    recipient = payouts.recipient_create(
        organization=organization, scope="employee", name="Anna", branch=branch, actor=actor
    )
    qr = payouts.qr_code_create(recipient=recipient, actor=actor)
    endpoint_create(
        organization=organization, url=receiver.url, event_types=["payment.verified"], actor=actor
    )
    token = make_api(organization, name="outage").token

    port = free_port("redis")
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis = redis_start(port)
    env = server_env(REDIS_URL=redis_url, PAYOPS_WEBHOOKS_ALLOW_PRIVATE="1")
    worker = celery_worker(redis_url)
    statuses, timings = Counter(), []
    try:
        with (
            gunicorn(REDIS_URL=redis_url, PAYOPS_WEBHOOKS_ALLOW_PRIVATE="1") as base,
            httpx.Client(base_url=base, timeout=30) as http,
        ):
            for phase, count in (("before", BEFORE), ("during", DURING), ("after", AFTER)):
                if phase == "during":
                    process_kill(redis)
                if phase == "after":
                    redis = redis_start(port)
                for _ in range(count):
                    started = time.monotonic()
                    response = _pay(http, token, qr.code)
                    timings.append(time.monotonic() - started)
                    statuses[(phase, response.status_code)] += 1
        assert statuses == Counter(
            {("before", 201): BEFORE, ("during", 201): DURING, ("after", 201): AFTER}
        ), statuses
        payments = Payment.objects.filter(organization=organization)
        assert payments.filter(status=Payment.Status.VERIFIED).count() == BEFORE + DURING + AFTER
        events = WebhookEvent.objects.filter(
            organization=organization, event_type="payment.verified"
        )
        assert events.count() == BEFORE + DURING + AFTER

        # The sweeper (beat's job) queues what the outage lost; the worker delivers.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "shell",
                    "-c",
                    "from webhooks.tasks import sweep; sweep()",
                ],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
            done = WebhookDelivery.objects.filter(
                organization=organization, status=WebhookDelivery.Status.SUCCEEDED
            ).count()
            if done == events.count():
                break
            time.sleep(3)
    finally:
        worker_stop(worker)
        process_kill(redis)
    ids = Counter(request.headers.get("webhook-id") for request in receiver.requests)
    assert set(ids) == set(events.values_list("id", flat=True)), "an event was not delivered"
    assert max(ids.values()) == 1, f"an event was delivered twice: {ids.most_common(3)}"
    assert max(timings) < 5, f"a write waited {max(timings):.1f} s for a dead Redis"
