"""Every attempt ends, is recorded once, and a delivery cannot be retried for ever.

Regression tests for: an exception outside ``httpx.HTTPError`` leaving a delivery pending under
its lease for ever (an IDN URL httpx refuses), a receiver trickling bytes past the lease, a late
outcome overwriting a newer attempt, the whole answer read into memory, anonymous history rows.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest
from django.utils import timezone

from exceptionqueue.models import ExceptionCase
from webhooks import services, signing, ssrf
from webhooks.exception_kinds import WEBHOOK_DELIVERY_FAILED
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.tests.factories import emit_payment_verified, make_endpoint

pytestmark = pytest.mark.django_db
ENDPOINTS = "/api/v1/webhook-endpoints/"


@pytest.fixture
def public_dns(monkeypatch):
    """Any host resolves to a public address (nothing is sent: the URL is refused first)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if "☃" in host or host.startswith("xn--"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", fake)


def _serve_once(handler):
    """A raw TCP receiver on loopback running ``handler(conn)`` for one connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    stats = {}

    def serve():
        conn, _ = server.accept()
        try:
            handler(conn, stats)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, f"http://127.0.0.1:{server.getsockname()[1]}/hook", stats


def _exhaust(delivery, clock):
    for _ in range(services.MAX_ATTEMPTS):
        assert services.delivery_attempt(delivery_id=delivery.pk, now=clock) is not None
        delivery.refresh_from_db()
        if delivery.status != WebhookDelivery.Status.PENDING:
            break
        clock = delivery.next_attempt_at
    return clock


# --- I2: an attempt that raises is recorded, and the delivery ends


def test_an_idn_url_httpx_refuses_is_refused_when_the_endpoint_is_saved(api, public_dns):
    response = api.post(
        ENDPOINTS, {"url": "http://☃.net/hook", "event_types": ["payment.*"]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "webhook_url_invalid"
    assert not WebhookEndpoint.objects.exists()


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


def test_any_exception_while_sending_is_a_recorded_failed_attempt(
    organization, system_user, receiver, monkeypatch
):
    make_endpoint(organization, receiver.url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))

    def broken(**kwargs):
        raise RuntimeError("a bug while signing")

    monkeypatch.setattr(services.signing, "headers", broken)
    result = services.delivery_attempt(delivery_id=delivery.pk)
    assert result is not None
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_error == "RuntimeError: a bug while signing"
    assert delivery.next_attempt_at - timezone.now() <= services.SCHEDULE[1]
    assert [a.error for a in delivery.attempt_log.all()] == ["RuntimeError: a bug while signing"]


def test_a_lost_last_attempt_fails_the_delivery_instead_of_retrying_for_ever(
    organization, system_user, receiver
):
    """Workers that die mid-request (claimed, never recorded) exhaust the schedule too."""
    endpoint = make_endpoint(organization, receiver.url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    clock = timezone.now()
    for _ in range(services.MAX_ATTEMPTS):
        assert services._claim(delivery.pk, now=clock) is not None  # the worker then dies
        clock += services.LEASE
    assert services._claim(delivery.pk, now=clock) is None
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
    assert services._claim(delivery.pk, now=clock) is not None  # attempt 1: worker dies
    result = services.delivery_attempt(delivery_id=delivery.pk, now=clock + services.LEASE)
    assert result.status == WebhookDelivery.Status.SUCCEEDED
    log = list(result.attempt_log.order_by("attempt"))
    assert [(a.attempt, a.status_code, a.error) for a in log] == [
        (1, None, services.LOST_ATTEMPT_ERROR),
        (2, 200, ""),
    ]
    assert log[0].started_at == clock


# --- I3: a stale outcome is ignored; an attempt ends by its deadline


def test_a_late_outcome_does_not_overwrite_a_newer_attempt(organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    clock = timezone.now()
    services._claim(delivery.pk, now=clock)  # attempt 1, slow
    services._claim(delivery.pk, now=clock + services.LEASE)  # attempt 2 after the lease
    late = services.Outcome(500, 70_000, error="HTTP 500")
    services._record(delivery_id=delivery.pk, attempt=1, outcome=late, now=clock)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 2
    assert delivery.last_status_code is None
    assert delivery.next_attempt_at == clock + 2 * services.LEASE  # attempt 2's lease stands
    ok = services.Outcome(200, 30)
    services._record(delivery_id=delivery.pk, attempt=2, outcome=ok, now=clock)
    # attempt 1 answering even later, after the delivery succeeded: ignored, no error
    services._record(delivery_id=delivery.pk, attempt=1, outcome=ok, now=clock)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert [(a.attempt, a.status_code) for a in delivery.attempt_log.order_by("attempt")] == [
        (1, None),  # logged as lost when attempt 2 was claimed
        (2, 200),
    ]


def _trickle(conn, stats):
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(8):  # one byte a second: never 2 s without data
        time.sleep(1)
        conn.sendall(b"a")
    conn.sendall(b"\r\nContent-Length: 2\r\n\r\nok")


def test_a_trickling_receiver_is_cut_off_at_the_attempt_deadline(
    organization, system_user, settings, monkeypatch
):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(services, "TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(services, "ATTEMPT_DEADLINE_SECONDS", 2.5)
    server, url, _ = _serve_once(_trickle)
    make_endpoint(organization, url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    started = time.monotonic()
    services.delivery_attempt(delivery_id=delivery.pk)
    took = time.monotonic() - started
    server.close()
    assert took < 4.0  # per-read timeouts alone would have taken more than 8 s
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_error.startswith("no complete answer within 2.5 s (ReadTimeout")
    assert delivery.attempt_log.get().duration_ms < 4000


def test_the_deadline_never_exceeds_a_quarter_of_the_lease(
    organization, system_user, settings, monkeypatch
):
    """The reviewer's scenario: 2 s per operation and a 3 s lease; the trickle lasts 8 s."""
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(services, "TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(services, "LEASE", dt.timedelta(seconds=3))
    server, url, _ = _serve_once(_trickle)
    make_endpoint(organization, url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    started = time.monotonic()
    services.delivery_attempt(delivery_id=delivery.pk)
    took = time.monotonic() - started
    server.close()
    assert took < services.LEASE.total_seconds()  # the lease outlives the attempt
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("no complete answer within 0.75 s")


def test_the_default_deadline_is_well_inside_the_lease():
    assert services.LEASE.total_seconds() >= services.ATTEMPT_DEADLINE_SECONDS * 3
    assert services.TIMEOUT_SECONDS <= services.ATTEMPT_DEADLINE_SECONDS


def _flood(conn, stats):
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 200000000\r\n\r\n")
    chunk = b"a" * 65536
    stats["sent"] = 0
    conn.settimeout(5)
    while stats["sent"] < 200_000_000:
        conn.sendall(chunk)
        stats["sent"] += len(chunk)


def test_only_an_excerpt_of_a_huge_answer_is_read(organization, system_user, settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    server, url, stats = _serve_once(_flood)
    make_endpoint(organization, url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    result = services.delivery_attempt(delivery_id=delivery.pk)
    time.sleep(0.2)
    server.close()
    assert result.status == WebhookDelivery.Status.SUCCEEDED
    attempt = result.attempt_log.get()
    assert attempt.response_excerpt == "a" * services.EXCERPT_CHARS
    assert stats["sent"] < 50_000_000  # the connection was closed, not read to the end


# --- history ---------------------------------------------------------------------------


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
