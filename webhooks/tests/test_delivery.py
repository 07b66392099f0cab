"""Delivery to a real HTTP receiver on loopback: signature, retries, Retry-After, 410, SSRF."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from exceptionqueue.models import ExceptionCase
from webhooks import services
from webhooks.exception_kinds import WEBHOOK_DELIVERY_FAILED
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.tasks import deliver
from webhooks.tests.factories import emit_payment_verified, make_endpoint

pytestmark = pytest.mark.django_db


def test_transition_delivers_one_signed_event_that_standardwebhooks_verifies(
    organization, system_user, receiver, eager_celery, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(organization, receiver.url, system_user)
    with django_capture_on_commit_callbacks(execute=True):
        event = emit_payment_verified(organization)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "payment.verified"
    assert payload["data"] == {
        "id": 1,
        "status": "verified",
        "amount": "1500.00",
        "currency": "AMD",
    }
    assert payload["timestamp"].endswith("Z")
    assert request.headers["webhook-id"] == event.id
    assert request.body == event.body.encode()  # the bytes signed are the bytes sent
    assert request.headers["content-type"] == "application/json"
    # UTC unix seconds, close to now
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 30
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.attempt == 1
    assert attempt.status_code == 200
    assert attempt.duration_ms >= 0


def test_a_tampered_body_or_another_secret_fails_verification(
    organization, system_user, receiver, eager_celery, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(organization, receiver.url, system_user)
    other = make_endpoint(organization, receiver.url + "/other", system_user)
    with django_capture_on_commit_callbacks(execute=True):
        emit_payment_verified(organization)
    by_path = {r.path: r for r in receiver.requests}
    request = by_path["/hooks"]
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request.body.replace(b"1500", b"9500"), request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(other.secret).verify(request.body, request.headers)


def test_receiver_answering_500_twice_gets_the_same_webhook_id_three_times(
    organization, system_user, receiver, eager_celery, django_capture_on_commit_callbacks
):
    make_endpoint(organization, receiver.url, system_user)
    receiver.answer(500, 500)
    with django_capture_on_commit_callbacks(execute=True):
        event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    first_failure = WebhookAttempt.objects.get(delivery=delivery, attempt=1)
    # The second attempt is due 5 s after the first failed; nothing happens before.
    assert delivery.next_attempt_at - first_failure.started_at == dt.timedelta(seconds=5)
    assert services.delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 1

    services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - first_failure.started_at > dt.timedelta(minutes=5)
    services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [event.id] * 3
    assert len({r.body for r in receiver.requests}) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert list(delivery.attempt_log.values_list("attempt", "status_code")) == [
        (1, 500),
        (2, 500),
        (3, 200),
    ]
    assert not ExceptionCase.objects.exists()


def test_full_schedule_to_exhaustion_under_a_fake_clock_raises_the_exception_once(
    organization, system_user, receiver
):
    endpoint = make_endpoint(organization, receiver.url, system_user)
    receiver.answer(*([500] * 20))
    start = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
    event = services.event_emit(
        organization=organization,
        event_type="payment.verified",
        subject="payment",
        subject_id=7,
        data={"id": 7, "status": "verified"},
        dedup="v",
        now=start,
    )
    delivery = WebhookDelivery.objects.get(event=event)
    clock = start
    gaps = []
    for _ in range(services.MAX_ATTEMPTS):
        assert services.delivery_attempt(delivery_id=delivery.pk, now=clock) is not None
        delivery.refresh_from_db()
        if delivery.status == WebhookDelivery.Status.PENDING:
            gaps.append(delivery.next_attempt_at - clock)
            # one second early is too early
            early = delivery.next_attempt_at - dt.timedelta(seconds=1)
            assert services.delivery_attempt(delivery_id=delivery.pk, now=early) is None
            clock = delivery.next_attempt_at

    assert gaps == list(services.SCHEDULE[1:])
    assert [(a.started_at - start) for a in delivery.attempt_log.order_by("attempt")] == [
        sum(services.SCHEDULE[: i + 1], dt.timedelta()) for i in range(10)
    ]
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 10
    assert len(receiver.requests) == 10
    assert (
        services.delivery_attempt(delivery_id=delivery.pk, now=clock + dt.timedelta(days=9)) is None
    )
    case = ExceptionCase.objects.get()
    assert case.kind == WEBHOOK_DELIVERY_FAILED
    assert case.status == ExceptionCase.Status.OPEN
    assert case.subject == endpoint
    assert case.details["last_event_id"] == event.id
    assert case.occurrences == 1


def test_exhaustion_of_a_second_event_keeps_one_case_per_endpoint_and_replay_clears_it(
    organization, system_user, receiver, eager_celery, django_capture_on_commit_callbacks
):
    make_endpoint(organization, receiver.url, system_user)
    receiver.answer(*([503] * 20))
    clock = timezone.now()
    deliveries = []
    for n in (1, 2):
        event = emit_payment_verified(organization, payment_id=n)
        delivery = WebhookDelivery.objects.get(event=event)
        t = delivery.next_attempt_at
        for _ in range(services.MAX_ATTEMPTS):
            services.delivery_attempt(delivery_id=delivery.pk, now=t)
            delivery.refresh_from_db()
            t = delivery.next_attempt_at or t
        deliveries.append(delivery)
    case = ExceptionCase.objects.get()
    assert case.occurrences == 2
    assert case.details["failed_deliveries"] == 2

    receiver.plan.clear()  # the receiver is fixed
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_replay_failed(
            organization=organization,
            start=clock - dt.timedelta(hours=1),
            end=timezone.now() + dt.timedelta(hours=1),
            actor=system_user,
        )
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert delivery.status == WebhookDelivery.Status.SUCCEEDED
        assert delivery.replays == 1
        assert delivery.attempts == 11
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.RESOLVED
    assert case.auto_resolved
    assert list(case.events.values_list("action", flat=True)) == ["raised", "auto_resolved"]


def test_retry_after_in_seconds_is_honoured_when_longer_than_the_schedule(
    organization, system_user, receiver
):
    make_endpoint(organization, receiver.url, system_user)
    receiver.answer((503, {"Retry-After": "120"}), (429, {"Retry-After": "1"}))
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    now = timezone.now()
    services.delivery_attempt(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + dt.timedelta(seconds=120)
    assert delivery.attempt_log.get().retry_after_seconds == 120
    # A Retry-After shorter than the schedule (5 min before attempt 3) does not shorten it.
    now = delivery.next_attempt_at
    services.delivery_attempt(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + dt.timedelta(minutes=5)


def test_retry_after_as_an_http_date(organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user)
    when = timezone.now().replace(microsecond=0) + dt.timedelta(hours=1)
    from email.utils import format_datetime

    receiver.answer((503, {"Retry-After": format_datetime(when.astimezone(dt.UTC), usegmt=True)}))
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert abs(delivery.next_attempt_at - when) < dt.timedelta(seconds=5)


def test_parse_retry_after():
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert services.parse_retry_after("30", now=now) == dt.timedelta(seconds=30)
    assert services.parse_retry_after(None, now=now) is None
    assert services.parse_retry_after("soon", now=now) is None
    assert services.parse_retry_after("999999999", now=now) == services.MAX_RETRY_AFTER
    assert services.parse_retry_after("Wed, 01 Jan 2025 00:10:00 GMT", now=now) == dt.timedelta(
        minutes=10
    )
    assert services.parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", now=now) == dt.timedelta(0)


def test_410_disables_the_endpoint_and_fails_its_pending_deliveries(
    organization, system_user, receiver
):
    endpoint = make_endpoint(organization, receiver.url, system_user)
    receiver.answer(410)
    first = WebhookDelivery.objects.get(event=emit_payment_verified(organization, payment_id=1))
    second = WebhookDelivery.objects.get(event=emit_payment_verified(organization, payment_id=2))
    services.delivery_attempt(delivery_id=first.pk)
    endpoint.refresh_from_db()
    first.refresh_from_db()
    assert not endpoint.enabled
    assert "410" in endpoint.disabled_reason
    assert first.status == WebhookDelivery.Status.FAILED
    assert first.attempts == 1
    # The other pending delivery is not sent to a disabled endpoint.
    services.delivery_attempt(delivery_id=second.pk)
    second.refresh_from_db()
    assert second.status == WebhookDelivery.Status.FAILED
    assert "endpoint disabled" in second.last_error
    assert len(receiver.requests) == 1
    case = ExceptionCase.objects.get(kind=WEBHOOK_DELIVERY_FAILED)
    assert case.details["failed_deliveries"] == 2
    # New events no longer go to it.
    event = emit_payment_verified(organization, payment_id=3)
    assert not WebhookDelivery.objects.filter(event=event).exists()


def test_a_duplicate_or_late_redelivered_task_sends_nothing_more(
    organization, system_user, receiver, eager_celery
):
    make_endpoint(organization, receiver.url, system_user)
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    assert deliver.apply(args=[delivery.pk]).get() == "succeeded"
    assert deliver.apply(args=[delivery.pk]).get() == "not due"
    assert deliver.apply(args=[delivery.pk]).get() == "not due"
    assert len(receiver.requests) == 1


def test_a_claimed_attempt_holds_a_lease_against_a_second_worker(
    organization, system_user, receiver
):
    make_endpoint(organization, receiver.url, system_user)
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    now = timezone.now()
    claimed = services._claim(delivery.pk, now=now)
    assert claimed is not None
    # A second worker (or the sweeper) finds the lease and does nothing...
    assert services._claim(delivery.pk, now=now + dt.timedelta(seconds=30)) is None
    # ...until the lease expired (the first worker died mid-request): then it retries.
    assert services._claim(delivery.pk, now=now + services.LEASE) is not None


def test_rotation_signs_with_both_secrets_during_the_overlap(
    organization, system_user, receiver, eager_celery, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(organization, receiver.url, system_user)
    old_secret = endpoint.secret
    rotated = services.endpoint_rotate_secret(
        endpoint=endpoint, actor=system_user, overlap=dt.timedelta(hours=1)
    )
    assert rotated.secret != old_secret
    assert rotated.secret.startswith("whsec_")
    with django_capture_on_commit_callbacks(execute=True):
        emit_payment_verified(organization, payment_id=1)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(request.body, request.headers)
    Webhook(rotated.secret).verify(request.body, request.headers)

    # After the overlap only the new secret signs.
    event = emit_payment_verified(organization, payment_id=2)
    delivery = WebhookDelivery.objects.get(event=event)
    later = timezone.now() + dt.timedelta(hours=2)
    assert services.delivery_attempt(delivery_id=delivery.pk, now=later)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    signed_at = dt.datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=dt.UTC)
    expected = Webhook(rotated.secret).sign(event.id, signed_at, request.body.decode())
    assert request.headers["webhook-signature"] == expected


def test_secrets_are_standard_webhooks_secrets(organization, system_user, receiver):
    import base64

    endpoint = make_endpoint(organization, receiver.url, system_user)
    raw = base64.b64decode(endpoint.secret.removeprefix("whsec_"))
    assert 24 <= len(raw) <= 64
    Webhook(endpoint.secret)  # the library accepts it


def test_delivery_time_ssrf_recheck_refuses_without_sending(
    organization, system_user, receiver, settings
):
    make_endpoint(organization, receiver.url, system_user)
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False  # e.g. the setting was turned off later
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_error.startswith("refused:")
    assert delivery.last_status_code is None


def test_unreachable_receiver_is_a_retryable_failure(organization, system_user, settings):
    import socket

    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    make_endpoint(organization, f"http://127.0.0.1:{port}/x", system_user)
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert "ConnectError" in delivery.last_error
    assert json.loads(event.body)["type"] == "payment.verified"


def test_the_request_goes_to_the_checked_address_with_host_and_sni_kept(
    organization, system_user, settings, monkeypatch
):
    """DNS rebinding: no second lookup between the guard and the connection."""
    import httpx

    from webhooks import ssrf

    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["2606:2800:220:1::1", "93.184.216.34"])
    make_endpoint(organization, "https://hooks.example.com:8443/in?x=1", system_user)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(services, "_transport", lambda deadline: httpx.MockTransport(handler))
    event = emit_payment_verified(organization)
    services.delivery_attempt(delivery_id=WebhookDelivery.objects.get(event=event).pk)
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34:8443/in?x=1"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.content == event.body.encode()
