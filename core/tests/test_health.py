import pytest
from django.utils import timezone

from config.celery import app as celery_app
from core.services import heartbeat_record


def test_healthz_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert body["worker"] == "unknown"  # no worker has run the heartbeat yet


def test_healthz_reports_the_worker_heartbeat(client, db):
    heartbeat_record(name="worker")
    assert client.get("/healthz").json()["worker"] == "ok"
    from core.models import Heartbeat

    Heartbeat.objects.update(beat_at=timezone.now() - timezone.timedelta(minutes=5))
    assert client.get("/healthz").json()["worker"] == "stale"


def test_healthz_is_503_when_the_broker_is_down(client, db, monkeypatch):
    # A real connection attempt to a port where nothing listens.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert response.json()["status"] == "error"
    assert response.json()["database"] == "ok"


@pytest.mark.redis
def test_healthz_pings_redis_when_configured(client, db, settings):
    assert celery_app.conf.broker_url.startswith("redis://")
    assert client.get("/healthz").json()["broker"] == "ok"
