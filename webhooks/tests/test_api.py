"""``/api/v1/webhook-endpoints/``, ``webhook-events/``, ``webhook-deliveries/``."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from core.models import IdempotencyKey
from webhooks import registry, services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.tests.factories import emit_payment_verified, make_endpoint

pytestmark = pytest.mark.django_db
ENDPOINTS = "/api/v1/webhook-endpoints/"


def test_create_shows_the_secret_once(api, organization, receiver):
    response = api.post(
        ENDPOINTS, {"url": receiver.url, "event_types": ["payout.completed"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "url", "event_types", "secret"}
    assert body["url"] == receiver.url
    assert body["event_types"] == ["payout.completed"]
    assert body["secret"].startswith("whsec_")
    Webhook(body["secret"])
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.organization == organization
    assert endpoint.secret == body["secret"]
    listed = api.get(ENDPOINTS).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in api.get(f"{ENDPOINTS}{body['id']}/").json()
    # the history keeps no secret
    assert not hasattr(endpoint.history.first(), "secret")


def test_create_refuses_private_targets(api, settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    for url in ["http://127.0.0.1:9000/x", "http://10.1.2.3/x", "http://169.254.169.254/x"]:
        response = api.post(ENDPOINTS, {"url": url, "event_types": ["*"]}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "webhook_url_refused"
        assert "url" in response.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "https://93.184.216.34/", "event_types": ["Payout"]}, "invalid_event_type"),
        ({"url": "https://93.184.216.34/", "event_types": []}, "invalid"),
        ({"url": "https://93.184.216.34/", "event_types": ["*"], "secret": "x"}, "unknown_field"),
        ({"url": "not a url", "event_types": ["*"]}, "invalid"),
    ],
)
def test_create_validation(api, body, code):
    response = api.post(ENDPOINTS, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_create_is_idempotent_but_never_replays_the_secret(api, receiver):
    """The secret is shown once: the Idempotency-Key record keeps no body, a replay is 409."""
    key = str(uuid.uuid4())
    body = {"url": receiver.url, "event_types": ["*"]}
    first = api.post(ENDPOINTS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    secret = first.json()["secret"]
    row = IdempotencyKey.objects.get(key=key)
    assert row.response_body is None or secret not in str(row.response_body)
    again = api.post(ENDPOINTS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "idempotency_not_replayable"
    assert secret not in again.content.decode()
    assert WebhookEndpoint.objects.count() == 1


def test_rotate_secret_is_never_replayed_from_the_idempotency_table(api, receiver):
    created = api.post(ENDPOINTS, {"url": receiver.url, "event_types": ["*"]}, format="json")
    url = f"{ENDPOINTS}{created.json()['id']}/rotate-secret/"
    key = str(uuid.uuid4())
    first = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 200
    secret = first.json()["secret"]
    row = IdempotencyKey.objects.get(key=key)
    assert row.response_body is None or secret not in str(row.response_body)
    again = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "idempotency_not_replayable"
    assert secret not in again.content.decode()
    assert WebhookEndpoint.objects.get().secret == secret  # rotated once, not twice


@pytest.mark.parametrize(
    "event_type", ["payout.bogus", "payment.verifed", "invoice.*", "invoice.paid"]
)
def test_unknown_event_types_are_refused_with_the_known_ones(api, event_type):
    response = api.post(
        ENDPOINTS,
        {"url": "https://93.184.216.34/hook", "event_types": ["payment.verified", event_type]},
        format="json",
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_event_type"
    assert event_type in error["message"]
    assert "payout.completed" in error["message"]  # the known types are listed
    assert "event_types" in error["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_unknown_event_types_are_refused_on_update_too(api, receiver):
    created = api.post(ENDPOINTS, {"url": receiver.url, "event_types": ["*"]}, format="json")
    response = api.patch(
        f"{ENDPOINTS}{created.json()['id']}/", {"event_types": ["payout.bogus"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event_type"
    assert WebhookEndpoint.objects.get().event_types == ["*"]


@pytest.mark.parametrize(
    "event_types",
    [["*"], ["payout.*"], ["payment.*", "payout.reversed"], ["payment.refunded"]],
)
def test_known_types_and_wildcards_are_accepted(api, event_types):
    response = api.post(
        ENDPOINTS, {"url": "https://93.184.216.34/hook", "event_types": event_types}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["event_types"] == event_types


def test_event_types_are_listed(api):
    response = api.get(f"{ENDPOINTS}event-types/")
    assert response.status_code == 200
    body = response.json()
    assert {"payment.verified", "payout.completed", "payout.reversed"} <= set(body["event_types"])
    assert {"payment", "payout"} <= set(body["resources"])  # domains add theirs


def test_a_registered_type_becomes_subscribable(api, monkeypatch):
    monkeypatch.setattr(registry, "_registered", set(registry._registered))
    url = "https://93.184.216.34/hook"
    refused = api.post(ENDPOINTS, {"url": url, "event_types": ["invoice.paid"]}, format="json")
    assert refused.status_code == 400
    registry.register_event_types("invoice.paid")
    accepted = api.post(ENDPOINTS, {"url": url, "event_types": ["invoice.*"]}, format="json")
    assert accepted.status_code == 201
    with pytest.raises(ValueError, match="not an event type"):
        registry.register_event_types("Invoice Paid")


def test_rotate_secret_and_update(api, receiver):
    created = api.post(ENDPOINTS, {"url": receiver.url, "event_types": ["*"]}, format="json").json()
    rotated = api.post(
        f"{ENDPOINTS}{created['id']}/rotate-secret/", {"overlap_hours": 2}, format="json"
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.previous_secret == created["secret"]
    assert endpoint.previous_secret_expires_at - endpoint.secret_rotated_at == dt.timedelta(hours=2)
    patched = api.patch(
        f"{ENDPOINTS}{created['id']}/",
        {"enabled": False, "event_types": ["payment.*"]},
        format="json",
    )
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    assert patched.json()["event_types"] == ["payment.*"]


def test_other_organisations_endpoints_do_not_exist(api, other_api, receiver):
    created = other_api.post(ENDPOINTS, {"url": receiver.url, "event_types": ["*"]}, format="json")
    pk = created.json()["id"]
    assert api.get(f"{ENDPOINTS}{pk}/").status_code == 404
    assert api.post(f"{ENDPOINTS}{pk}/rotate-secret/", {}, format="json").status_code == 404
    assert api.patch(f"{ENDPOINTS}{pk}/", {"enabled": False}, format="json").status_code == 404
    assert api.get(ENDPOINTS).json()["results"] == []


def test_events_and_deliveries_with_their_log(
    api, organization, other_organization, system_user, receiver
):
    endpoint = make_endpoint(organization, receiver.url, system_user)
    receiver.answer(500)
    event = emit_payment_verified(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    services.delivery_attempt(delivery_id=delivery.pk)
    make_endpoint(other_organization, receiver.url, system_user)
    foreign = emit_payment_verified(other_organization)

    events = api.get("/api/v1/webhook-events/").json()["results"]
    assert [row["id"] for row in events] == [event.id]
    detail = api.get(f"/api/v1/webhook-events/{event.id}/").json()
    assert detail["data"]["amount"] == "1500.00"
    assert detail["deliveries"][0]["endpoint"] == endpoint.pk
    assert api.get(f"/api/v1/webhook-events/{foreign.id}/").status_code == 404
    assert api.get("/api/v1/webhook-events/?event_type=payout.completed").json()["results"] == []

    rows = api.get("/api/v1/webhook-deliveries/?status=pending").json()["results"]
    assert [row["id"] for row in rows] == [delivery.pk]
    assert api.get("/api/v1/webhook-deliveries/?status=failed").json()["results"] == []
    log = api.get(f"/api/v1/webhook-deliveries/{delivery.pk}/").json()["attempt_log"]
    assert len(log) == 1
    assert log[0]["attempt"] == 1
    assert log[0]["status_code"] == 500
    assert log[0]["error"] == "HTTP 500"
    assert log[0]["duration_ms"] >= 0


def test_replay_one_event(api, organization, system_user, receiver, eager_celery):
    make_endpoint(organization, receiver.url, system_user)
    event = emit_payment_verified(organization)
    services.delivery_attempt(delivery_id=event.deliveries.get().pk)
    assert len(receiver.requests) == 1
    response = api.post(f"/api/v1/webhook-events/{event.id}/replay/", {}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["replayed"] == 1
    # queued on commit; run it as the worker would
    services.delivery_attempt(delivery_id=event.deliveries.get().pk)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id, event.id]
    assert response.json()["deliveries"][0]["status"] == "pending"


def test_replay_failed_in_a_range(api, organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user)
    receiver.answer(410)
    event = emit_payment_verified(organization)
    delivery = event.deliveries.get()
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    now = timezone.now()
    body = {
        "start": (now - dt.timedelta(hours=1)).isoformat(),
        "end": (now + dt.timedelta(hours=1)).isoformat(),
    }
    # the endpoint was disabled by the 410: nothing to replay until it is enabled again
    response = api.post("/api/v1/webhook-deliveries/replay-failed/", body, format="json")
    assert response.status_code == 202
    assert response.json()["replayed"] == 0
    api.patch(f"{ENDPOINTS}{delivery.endpoint_id}/", {"enabled": True}, format="json")
    response = api.post("/api/v1/webhook-deliveries/replay-failed/", body, format="json")
    assert response.json()["replayed"] == 1
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.round_attempts == 0
    bad = api.post(
        "/api/v1/webhook-deliveries/replay-failed/",
        {"start": body["end"], "end": body["start"]},
        format="json",
    )
    assert bad.status_code == 400
    missing = api.post(
        "/api/v1/webhook-deliveries/replay-failed/", {**body, "endpoint": 999999}, format="json"
    )
    assert missing.status_code == 404


def test_schema_documents_the_webhook_api(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in [
        "/api/v1/webhook-endpoints/",
        "/api/v1/webhook-endpoints/{id}/rotate-secret/",
        "/api/v1/webhook-events/{id}/replay/",
        "/api/v1/webhook-deliveries/replay-failed/",
        "/api/v1/exceptions/",
        "/api/v1/exceptions/{id}/resolve/",
    ]:
        assert path in schema["paths"], path
