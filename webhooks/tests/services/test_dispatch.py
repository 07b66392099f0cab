"""Dispatch: delivered even if the broker was down when the change committed; the sweeper
(``services/dispatch.py``)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from config.celery import app as celery_app
from core.models import Branch
from webhooks import services
from webhooks.models import WebhookDelivery
from webhooks.services import dispatch
from webhooks.tests.factories import emit_payment_verified, make_endpoint

pytestmark = pytest.mark.django_db


UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def celery_conf():
    """Change Celery settings for one test; they are put back afterwards."""
    saved = {
        "broker_url": celery_app.conf.broker_url,
        "task_always_eager": celery_app.conf.task_always_eager,
    }

    def change(**values):
        for name, value in values.items():
            setattr(celery_app.conf, name, value)

    yield change
    change(**saved)


@pytest.mark.django_db
def test_broker_down_the_change_commits_and_the_sweeper_sends_it_later(
    organization, system_user, receiver, celery_conf, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(organization, receiver.url, system_user)
    celery_conf(task_always_eager=False, broker_url=UNREACHABLE_BROKER)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Branch.objects.create(organization=organization, code="new", name="New")  # the change
        event = emit_payment_verified(organization)
    assert time.monotonic() - started < 3  # the request is not held up by the dead broker
    assert Branch.objects.filter(code="new").exists()
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert receiver.requests == []
    assert services.deliveries_sweep() == 0  # still down: nothing queued, nothing lost

    celery_conf(task_always_eager=True)  # the broker and a worker are back
    assert services.deliveries_sweep() == 1
    assert len(receiver.requests) == 1
    Webhook(endpoint.secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


@pytest.mark.django_db
def test_sweeper_queues_due_deliveries_once_until_they_are_due_again(
    organization, system_user, receiver, monkeypatch
):
    make_endpoint(organization, receiver.url, system_user)
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    queued: list[list[int]] = []
    monkeypatch.setattr(
        dispatch, "enqueue_deliveries", lambda ids, **kw: queued.append(list(ids)) or len(ids)
    )
    now = timezone.now() + dt.timedelta(seconds=1)
    assert services.deliveries_sweep(now=now) == 1
    assert queued == [[delivery.pk]]
    assert services.deliveries_sweep(now=now + dt.timedelta(seconds=10)) == 0  # already queued
    # Lost in the broker: queued again once the lease time has passed.
    assert services.deliveries_sweep(now=now + services.LEASE + dt.timedelta(seconds=1)) == 1


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_broker_down_then_back_with_a_real_worker(organization, system_user, receiver, celery_conf):
    """Real Redis, real worker thread: events committed while the broker was unreachable go out
    once it is back (the beat sweeper's work, run here by hand)."""
    from celery.contrib.testing.worker import start_worker

    endpoint = make_endpoint(organization, receiver.url, system_user)
    real_broker = celery_app.conf.broker_url
    celery_conf(task_always_eager=False, broker_url=UNREACHABLE_BROKER)
    with transaction.atomic():
        events = [emit_payment_verified(organization, payment_id=n) for n in (1, 2, 3)]
    assert WebhookDelivery.objects.filter(status="pending").count() == 3
    assert receiver.requests == []

    celery_conf(broker_url=real_broker)
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    assert services.deliveries_sweep() == 3
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if WebhookDelivery.objects.filter(status="succeeded").count() == 3:
                break
            time.sleep(0.1)
    connection.close()
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 3
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(
        e.id for e in events
    )
    for request in receiver.requests:
        Webhook(endpoint.secret).verify(request.body, request.headers)
