"""Storms over HTTP against gunicorn (2 worker processes) on PostgreSQL: one effect each.

- 50 identical payout requests at once (no idempotency key): one payout, the rest refused
  (409), none a 5xx;
- 50 requests with one Idempotency-Key at once: one payout, every answer the first one's
  (or 409 ``idempotency_in_progress`` while it runs), none a 5xx;
- one signed provider callback 20 times at once: the payment verified once, one verified
  event, one outbox event.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import make_api
from payments.models import Payment, PaymentEvent
from payments.tests.conftest import callback_params, decide, registered
from payments.tests.factories import make_payment
from payouts.models import Payout
from payouts.tests.factories import paid, today
from tests.reliability.live import gunicorn
from tests.reliability.world import build_world
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.postgres, pytest.mark.long]


def _storm(count: int, send) -> list[httpx.Response]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: send(), range(count)))


def _payout_body(world, day) -> dict:
    return {
        "recipient": world["storm_recipient"].pk,
        "currency": "AMD",
        "period_start": str(day),
        "period_end": str(day),
    }


@pytest.fixture
def world(transactional_db):
    from payouts import services

    world = build_world("storm-org")
    recipient = services.recipient_create(
        organization=world["organization"],
        scope="employee",
        name="Storm Waiter",
        branch=world["branch"],
        external_ref="W-STORM",
        actor=world["actor"],
    )
    paid(services.qr_code_create(recipient=recipient, actor=world["actor"]), "7000.00")
    world["storm_recipient"] = recipient
    world["token"] = make_api(world["organization"], name="storm").token
    return world


def test_fifty_identical_payout_requests_make_one_payout(world):
    day = today(world["organization"])
    body = _payout_body(world, day)
    with gunicorn() as base, httpx.Client(base_url=base, timeout=60) as http:
        headers = {"Authorization": f"Token {world['token']}"}
        before = Payout.objects.count()
        responses = _storm(50, lambda: http.post("/api/v1/payouts/", json=body, headers=headers))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1, statuses
    assert set(statuses) <= {201, 409}, statuses
    assert Payout.objects.count() == before + 1


def test_fifty_requests_with_one_idempotency_key_make_one_payout(world):
    day = today(world["organization"])
    body = _payout_body(world, day)
    headers = {"Authorization": f"Token {world['token']}", "Idempotency-Key": "storm-key-1"}
    with gunicorn() as base, httpx.Client(base_url=base, timeout=60) as http:
        before = Payout.objects.count()
        responses = _storm(50, lambda: http.post("/api/v1/payouts/", json=body, headers=headers))
        # After the storm: every retry is the first answer again.
        again = http.post("/api/v1/payouts/", json=body, headers=headers)
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r.json() for r in responses if r.status_code == 201]
    assert created, statuses
    assert all(c == created[0] for c in created)
    for r in responses:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "idempotency_in_progress", r.text
    assert again.status_code == 201
    assert again.json() == created[0]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert Payout.objects.count() == before + 1


def test_one_callback_twenty_times_at_once_verifies_once(world, settings):
    organization, actor = world["organization"], world["actor"]
    payment = make_payment(organization=organization, branch=world["branch"], amount="2500.00")
    payment, order = registered(payment, actor)
    decide(order)
    params = callback_params(order)
    with gunicorn() as base, httpx.Client(base_url=base, timeout=60) as http:
        responses = _storm(20, lambda: http.get("/callbacks/sandbox/", params=params))
    # A duplicate arriving while the first is processed is told to retry (the gateway does).
    retry = (409, "Already being processed; retry later.")
    assert all(r.status_code == 200 or (r.status_code, r.text) == retry for r in responses), [
        (r.status_code, r.text) for r in responses
    ]
    assert sum(r.status_code == 200 for r in responses) >= 1
    with gunicorn() as base:
        assert httpx.get(f"{base}/callbacks/sandbox/", params=params).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    verified = PaymentEvent.objects.filter(payment=payment, to_status=Payment.Status.VERIFIED)
    assert verified.count() == 1
    assert (
        WebhookEvent.objects.filter(
            event_type="payment.verified", subject_id=str(payment.pk)
        ).count()
        == 1
    )
