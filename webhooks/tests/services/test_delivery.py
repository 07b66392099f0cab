"""Delivery to a real HTTP receiver on loopback: claim, retries, 410, lease, lost and late
attempts, the failure case, audit (``services/delivery.py``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from conftest import run_together
from exceptionqueue.models import ExceptionCase
from webhooks import services, signing
from webhooks.exception_kinds import WEBHOOK_DELIVERY_FAILED
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery as delivery_module
from webhooks.tasks import deliver
from webhooks.tests.factories import emit_payment_verified, make_endpoint

pytestmark = pytest.mark.django_db


def _exhaust(delivery, clock):
    for _ in range(services.MAX_ATTEMPTS):
        assert services.delivery_attempt(delivery_id=delivery.pk, now=clock) is not None
        delivery.refresh_from_db()
        if delivery.status != WebhookDelivery.Status.PENDING:
            break
        clock = delivery.next_attempt_at
    return clock


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
    claimed = delivery_module._claim(delivery.pk, now=now)
    assert claimed is not None
    # A second worker (or the sweeper) finds the lease and does nothing...
    assert delivery_module._claim(delivery.pk, now=now + dt.timedelta(seconds=30)) is None
    # ...until the lease expired (the first worker died mid-request): then it retries.
    assert delivery_module._claim(delivery.pk, now=now + services.LEASE) is not None


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


def test_an_unsendable_url_saved_earlier_fails_after_the_schedule(organization, public_dns):
    """A row saved before the check existed: every attempt is recorded, then the case is raised."""
    WebhookEndpoint.objects.create(
        organization=organization,
        url="http://☃.net/hook",
        event_types=["payment.*"],
        secret=signing.new_secret(),
        created_at=timezone.now(),
    )
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    _exhaust(delivery, timezone.now())
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.round_attempts == services.MAX_ATTEMPTS
    assert delivery.attempt_log.count() == services.MAX_ATTEMPTS
    assert "not valid" in delivery.last_error
    assert ExceptionCase.objects.get().kind == WEBHOOK_DELIVERY_FAILED


def test_a_lost_last_attempt_fails_the_delivery_instead_of_retrying_for_ever(
    organization, system_user, receiver
):
    """Workers that die mid-request (claimed, never recorded) exhaust the schedule too."""
    endpoint = make_endpoint(organization, receiver.url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    clock = timezone.now()
    for _ in range(services.MAX_ATTEMPTS):
        assert delivery_module._claim(delivery.pk, now=clock) is not None  # the worker then dies
        clock += services.LEASE
    assert delivery_module._claim(delivery.pk, now=clock) is None
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.round_attempts == services.MAX_ATTEMPTS
    log = list(delivery.attempt_log.order_by("attempt"))
    assert [a.attempt for a in log] == list(range(1, services.MAX_ATTEMPTS + 1))
    assert {a.error for a in log} == {services.LOST_ATTEMPT_ERROR}
    case = ExceptionCase.objects.get()
    assert case.kind == WEBHOOK_DELIVERY_FAILED
    assert case.subject == endpoint
    # nothing is due any more: the sweeper leaves it alone
    assert services.deliveries_due(now=clock + dt.timedelta(days=30)) == []
    assert receiver.requests == []


def test_a_lost_attempt_is_logged_and_the_next_one_proceeds(organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    clock = timezone.now()
    assert delivery_module._claim(delivery.pk, now=clock) is not None  # attempt 1: worker dies
    result = services.delivery_attempt(delivery_id=delivery.pk, now=clock + services.LEASE)
    assert result.status == WebhookDelivery.Status.SUCCEEDED
    log = list(result.attempt_log.order_by("attempt"))
    assert [(a.attempt, a.status_code, a.error) for a in log] == [
        (1, None, services.LOST_ATTEMPT_ERROR),
        (2, 200, ""),
    ]
    assert log[0].started_at == clock


def test_a_late_outcome_does_not_overwrite_a_newer_attempt(organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    clock = timezone.now()
    delivery_module._claim(delivery.pk, now=clock)  # attempt 1, slow
    delivery_module._claim(delivery.pk, now=clock + services.LEASE)  # attempt 2 after the lease
    late = services.Outcome(500, 70_000, error="HTTP 500")
    delivery_module._record(delivery_id=delivery.pk, attempt=1, outcome=late, now=clock)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 2
    assert delivery.last_status_code is None
    assert delivery.next_attempt_at == clock + 2 * services.LEASE  # attempt 2's lease stands
    ok = services.Outcome(200, 30)
    delivery_module._record(delivery_id=delivery.pk, attempt=2, outcome=ok, now=clock)
    # attempt 1 answering even later, after the delivery succeeded: ignored, no error
    delivery_module._record(delivery_id=delivery.pk, attempt=1, outcome=ok, now=clock)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert [(a.attempt, a.status_code) for a in delivery.attempt_log.order_by("attempt")] == [
        (1, None),  # logged as lost when attempt 2 was claimed
        (2, 200),
    ]


def test_every_history_row_of_a_delivery_names_the_system_actor_and_a_reason(
    organization, system_user, receiver
):
    make_endpoint(organization, receiver.url, system_user)
    receiver.answer(500)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    clock = timezone.now()
    services.delivery_attempt(delivery_id=delivery.pk, now=clock)
    services.delivery_attempt(delivery_id=delivery.pk, now=clock + services.SCHEDULE[1])
    rows = list(delivery.history.filter(history_type="~").order_by("history_id"))
    assert len(rows) == 4  # claim + outcome, twice
    assert {row.history_user.username for row in rows} == {"system.webhooks.deliver"}
    assert [row.history_change_reason.split(":")[0].split(" (")[0] for row in rows] == [
        "attempt 1 started",
        "attempt 1",
        "attempt 2 started",
        "attempt 2",
    ]
