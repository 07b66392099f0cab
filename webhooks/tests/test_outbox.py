"""The outbox: one row per transition, written with the change, delivered even if the broker was
down when the change committed."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from config.celery import app as celery_app
from conftest import run_together
from core.models import Branch
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tests.factories import emit_payment_verified, make_endpoint

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


def _emit(organization, **overrides):
    kwargs = {
        "organization": organization,
        "event_type": "payout.completed",
        "subject": "payout",
        "subject_id": 42,
        "data": {"id": 42, "status": "completed", "net": Decimal("900.00"), "currency": "AMD"},
        "dedup": "completed",
    }
    kwargs.update(overrides)
    return services.event_emit(**kwargs)


@pytest.mark.django_db
class TestEmit:
    def test_the_id_is_derived_from_the_transition_so_a_retry_writes_nothing(
        self, organization, other_organization, system_user, receiver
    ):
        make_endpoint(organization, receiver.url, system_user, event_types=["payout.*"])
        first = _emit(organization)
        again = _emit(organization, data={"id": 42, "status": "completed", "net": "1.00"})
        assert again.pk == first.pk
        assert again.body == first.body
        assert WebhookEvent.objects.count() == 1
        assert WebhookDelivery.objects.count() == 1
        assert first.pk == services.event_id_for(
            organization=organization,
            event_type="payout.completed",
            subject="payout",
            subject_id="42",
            dedup="completed",
        )
        assert first.pk.startswith("msg_")
        assert len(first.pk) == 36
        # Another transition, another organisation: other ids.
        assert _emit(organization, dedup="completed-again").pk != first.pk
        assert _emit(other_organization).pk != first.pk

    def test_body_is_thin_json_with_decimal_strings_and_a_utc_timestamp(self, organization):
        now = dt.datetime(2025, 5, 1, 12, 30, tzinfo=dt.UTC)
        event = _emit(organization, now=now)
        assert event.body == (
            '{"type":"payout.completed","timestamp":"2025-05-01T12:30:00Z",'
            '"data":{"id":42,"status":"completed","net":"900.00","currency":"AMD"}}'
        )

    @pytest.mark.parametrize(
        "data",
        [
            {"id": 1, "email": "a@b.am"},
            {"id": 1, "patient": {"name": "Anna"}},
            {"id": 1, "items": [{"diagnosis": "x"}]},
            {"id": 1, "masked_pan": "4111****1111"},
        ],
    )
    def test_personal_or_medical_data_is_refused(self, organization, data):
        with pytest.raises(ValueError, match="thin"):
            _emit(organization, data=data)
        assert not WebhookEvent.objects.exists()

    def test_floats_and_bad_event_types_are_refused(self, organization):
        with pytest.raises(TypeError):
            _emit(organization, data={"amount": 1.5})
        for bad in ["payout", "Payout.Completed", "payout.completed.x", ""]:
            with pytest.raises(ValueError, match="event type"):
                _emit(organization, event_type=bad)

    def test_only_enabled_endpoints_listening_to_the_type_get_a_delivery(
        self, organization, other_organization, system_user, receiver
    ):
        exact = make_endpoint(organization, receiver.url, system_user, ["payout.completed"])
        wildcard = make_endpoint(organization, receiver.url, system_user, ["payout.*"])
        everything = make_endpoint(organization, receiver.url, system_user, ["*"])
        make_endpoint(organization, receiver.url, system_user, ["payment.*"])
        disabled = make_endpoint(organization, receiver.url, system_user, ["*"])
        services.endpoint_disable(endpoint=disabled, reason="test", actor=system_user)
        make_endpoint(other_organization, receiver.url, system_user, ["*"])
        event = _emit(organization)
        assert set(event.deliveries.values_list("endpoint_id", flat=True)) == {
            exact.pk,
            wildcard.pk,
            everything.pk,
        }

    def test_a_rolled_back_change_leaves_no_event(self, organization, system_user, receiver):
        make_endpoint(organization, receiver.url, system_user, ["*"])

        def change_that_fails():
            with transaction.atomic():
                _emit(organization)
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            change_that_fails()
        assert not WebhookEvent.objects.exists()
        assert not WebhookDelivery.objects.exists()

    def test_delivery_is_queued_only_after_commit(
        self, organization, system_user, receiver, django_capture_on_commit_callbacks
    ):
        make_endpoint(organization, receiver.url, system_user, ["*"])
        with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
            _emit(organization)
            _emit(organization)  # the same transition again: one delivery, one callback
        assert len(callbacks) == 1


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
        services, "enqueue_deliveries", lambda ids, **kw: queued.append(list(ids)) or len(ids)
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_one_attempt(organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user)
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    results = run_together(*[lambda: services.delivery_attempt(delivery_id=delivery.pk)] * 8)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len([r for r in results if r is not None]) == 1
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_emits_of_one_transition_write_one_row(organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user, ["*"])

    def work():
        with transaction.atomic():
            return _emit(organization).pk

    ids = run_together(*[work] * 10)
    assert len(set(ids)) == 1
    assert len(ids) == 10
    assert WebhookEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1
