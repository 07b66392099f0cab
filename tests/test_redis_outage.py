"""Redis down: the API, provider callbacks and /healthz still answer as they should (issue 9, #7).

The cache and the broker point at a port where nothing listens, for real (no mock): the rate
limit is skipped (logged once per request, no traceback), writes commit, reads answer, a signed
callback verifies its payment, and /healthz says 503 with the broker down, never 500. A dead Redis
costs milliseconds per request, not seconds.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest
from django.test import Client, override_settings

from config.celery import app as celery_app
from core.actors import system_actor
from payments.models import Payment
from payments.tests.conftest import callback_params, decide, registered
from payments.tests.factories import make_payment
from payouts import services as payout_services
from payouts.models import Payout, Recipient
from payouts.tests.factories import paid, today

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    """The cache and the broker at a port where nothing listens (settings as production has them
    with a REDIS_URL, only the address changed)."""
    cache = dict(settings.CACHES["default"])
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    cache["LOCATION"] = DEAD_REDIS
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    with override_settings(CACHES={"default": cache}):
        celery_app.conf.broker_url = DEAD_REDIS
        celery_app.conf.task_always_eager = False
        try:
            yield
        finally:
            celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved


def test_the_api_answers_and_commits_with_redis_down(api, branch, redis_down, caplog):
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    body = {"scope": "employee", "name": "Anna", "branch": branch.code, "external_ref": "W-1"}
    created = api.post("/api/v1/recipients/", body, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert created.status_code == 201, created.content
    assert Recipient.objects.filter(pk=created.json()["id"]).exists()  # committed
    listed = api.get("/api/v1/recipients/")
    assert listed.status_code == 200, listed.content
    assert [r["id"] for r in listed.json()["results"]] == [created.json()["id"]]
    assert api.get("/api/v1/payments/").status_code == 200
    assert time.monotonic() - started < 3  # no per-request wait of seconds on the dead socket
    skipped = [r for r in caplog.records if r.name == "payops.api.throttling"]
    assert len(skipped) == 3  # once per request
    assert all(r.exc_info is None for r in skipped)  # a line, not a traceback


def test_a_payout_moves_with_redis_down(api, organization, branch, redis_down):
    """The issue's case: payout requests and transitions commit while Redis is down."""
    actor = system_actor("tests")
    recipient = payout_services.recipient_create(
        organization=organization, scope="employee", name="Anna", branch=branch, actor=actor
    )
    qr = payout_services.qr_code_create(recipient=recipient, actor=actor)
    day = today(organization)
    paid(qr, "1500.00")
    body = {"recipient": recipient.pk, "currency": "AMD", "period_start": str(day)}
    requested = api.post("/api/v1/payouts/", {**body, "period_end": str(day)}, format="json")
    assert requested.status_code == 201, requested.content
    url = f"/api/v1/payouts/{requested.json()['id']}/transitions/"
    moved = api.post(url, {"to": "processing"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert moved.status_code == 200, moved.content
    assert Payout.objects.get().status == Payout.Status.PROCESSING


def test_a_provider_callback_is_processed_with_redis_down(organization, branch, redis_down):
    user = system_actor("tests")
    payment, order = registered(make_payment(organization=organization, branch=branch), user)
    decide(order)
    response = Client().get("/callbacks/sandbox/", callback_params(order))
    assert response.status_code == 200, response.content
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED


def test_healthz_is_503_with_the_broker_down_never_500(client, redis_down, caplog):
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "ok",
        "broker": "down",
        "worker": "unknown",
    }
    assert all(r.exc_info is None for r in caplog.records if r.name == "payops.health")


@pytest.fixture
def silent_redis(settings):
    """A server that accepts connections and never answers (a hung Redis, a black hole)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    cache = dict(settings.CACHES["default"])
    cache["LOCATION"] = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    with override_settings(CACHES={"default": cache}):
        yield
    server.close()


def test_a_silent_redis_costs_a_request_a_fraction_of_a_second(api, silent_redis, caplog):
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    response = api.get("/api/v1/recipients/")
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.content
    assert elapsed < 0.75, elapsed  # one socket timeout (0.25 s)
    assert [r.name for r in caplog.records if r.levelno >= logging.WARNING].count(
        "payops.api.throttling"
    ) == 1
