"""Endpoints: URLs checked when saved, secrets and their rotation (``services/endpoints.py``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.tests.factories import emit_payment_verified, make_endpoint

pytestmark = pytest.mark.django_db


ENDPOINTS = "/api/v1/webhook-endpoints/"


def test_an_idn_url_httpx_refuses_is_refused_when_the_endpoint_is_saved(api, public_dns):
    response = api.post(
        ENDPOINTS, {"url": "http://☃.net/hook", "event_types": ["payment.*"]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "webhook_url_invalid"
    assert not WebhookEndpoint.objects.exists()


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
