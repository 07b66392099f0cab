"""Sending one attempt: Retry-After, the SSRF re-check and the checked address, any failure
recorded, the deadline inside the lease, only an excerpt read (``services/sending.py``)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time

import pytest
from django.utils import timezone

from webhooks import services, signing, ssrf
from webhooks.models import WebhookDelivery
from webhooks.services import delivery as delivery_module
from webhooks.services import sending
from webhooks.tests.factories import emit_payment_verified, make_endpoint
from webhooks.tests.rawsocket import serve_once

pytestmark = pytest.mark.django_db


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

    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["2606:2800:220:1::1", "93.184.216.34"])
    make_endpoint(organization, "https://hooks.example.com:8443/in?x=1", system_user)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(sending, "_transport", lambda deadline: httpx.MockTransport(handler))
    event = emit_payment_verified(organization)
    services.delivery_attempt(delivery_id=WebhookDelivery.objects.get(event=event).pk)
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34:8443/in?x=1"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.content == event.body.encode()


def test_any_exception_while_sending_is_a_recorded_failed_attempt(
    organization, system_user, receiver, monkeypatch
):
    make_endpoint(organization, receiver.url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))

    def broken(**kwargs):
        raise RuntimeError("a bug while signing")

    monkeypatch.setattr(signing, "headers", broken)
    result = services.delivery_attempt(delivery_id=delivery.pk)
    assert result is not None
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_error == "RuntimeError: a bug while signing"
    assert delivery.next_attempt_at - timezone.now() <= services.SCHEDULE[1]
    assert [a.error for a in delivery.attempt_log.all()] == ["RuntimeError: a bug while signing"]


def _trickle(conn, stats):
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(8):  # one byte a second: never 2 s without data
        time.sleep(1)
        conn.sendall(b"a")
    conn.sendall(b"\r\nContent-Length: 2\r\n\r\nok")


def _attempt_against_a_trickle(organization, system_user):
    """One attempt to a receiver trickling its headers: the delivery and how long it took."""
    server, url, _ = serve_once(_trickle)
    make_endpoint(organization, url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    started = time.monotonic()
    services.delivery_attempt(delivery_id=delivery.pk)
    took = time.monotonic() - started
    server.close()
    return delivery, took


def test_a_trickling_receiver_is_cut_off_at_the_attempt_deadline(
    organization, system_user, settings, monkeypatch
):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(sending, "TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(sending, "ATTEMPT_DEADLINE_SECONDS", 2.5)
    delivery, took = _attempt_against_a_trickle(organization, system_user)
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
    monkeypatch.setattr(sending, "TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(delivery_module, "LEASE", dt.timedelta(seconds=3))
    delivery, took = _attempt_against_a_trickle(organization, system_user)
    assert took < delivery_module.LEASE.total_seconds()  # the lease outlives the attempt
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
    server, url, stats = serve_once(_flood)
    make_endpoint(organization, url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))
    result = services.delivery_attempt(delivery_id=delivery.pk)
    time.sleep(0.2)
    server.close()
    assert result.status == WebhookDelivery.Status.SUCCEEDED
    attempt = result.attempt_log.get()
    assert attempt.response_excerpt == "a" * services.EXCERPT_CHARS
    assert stats["sent"] < 50_000_000  # the connection was closed, not read to the end
