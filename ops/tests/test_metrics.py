"""GET /metrics: Prometheus text, for a bearer token from the environment or a superuser."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ops.metrics import record_task_failure
from tests.reliability.world import build_world
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def _samples(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", "Bearer ", "Token s3cret-metrics-token-0123456789"]
)
def test_metrics_refuse_without_the_token(settings, header):
    settings.PAYOPS_METRICS_TOKEN = "s3cret-metrics-token-0123456789"
    client = Client()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/metrics", **extra).status_code == 401


def test_no_token_configured_means_no_token_works(settings):
    settings.PAYOPS_METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_metrics_figures(settings):
    settings.PAYOPS_METRICS_TOKEN = "s3cret-metrics-token-0123456789"
    world = build_world("metrics-org")  # a payment verified: one delivery to the endpoint
    WebhookDelivery.objects.filter(endpoint=world["endpoint"]).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=timezone.now() - dt.timedelta(minutes=3),
    )
    record_task_failure(sender=type("T", (), {"name": "webhooks.tasks.deliver"})())
    response = Client().get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.PAYOPS_METRICS_TOKEN}"
    )
    samples = _samples(response)
    assert samples[("payops_webhook_deliveries_due", ())] >= 1
    assert samples[("payops_outbox_lag_seconds", ())] >= 170
    assert ("payops_janitor_backlog", (("janitor", "payments"),)) in samples
    assert ("payops_exception_cases_open_blocking", ()) in samples
    failures = samples[("payops_celery_task_failures_total", (("task", "webhooks.tasks.deliver"),))]
    assert failures >= 1


def test_a_superuser_session_reads_them_and_redis_down_costs_only_the_failure_count(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1},
        }
    }
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="x"))
    samples = _samples(client.get("/metrics"))
    assert ("payops_webhook_deliveries_due", ()) in samples
    assert not any(name.startswith("payops_celery_task_failures") for name, _ in samples)
    record_task_failure(sender=None)  # never raises


def test_a_superuser_without_the_second_factor_is_refused(settings):
    settings.PAYOPS_ADMIN_OTP_REQUIRED = True
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="x"))
    assert client.get("/metrics").status_code == 401
