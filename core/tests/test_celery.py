"""Celery: reliable settings, enqueue after commit, a real round trip through the broker."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from config.celery import app as celery_app
from core import tasks
from core.models import Heartbeat


def test_reliability_settings():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_retry_on_startup is True
    assert conf.task_serializer == "json"
    # A task may run at most task_time_limit: the broker redelivers only after the visibility
    # timeout, which must therefore be longer.
    visibility = conf.broker_transport_options.get("visibility_timeout", 3600)
    assert visibility > conf.task_time_limit


def test_beat_schedule_names_existing_tasks():
    celery_app.loader.import_default_modules()
    for entry in celery_app.conf.beat_schedule.values():
        assert entry["task"] in celery_app.tasks, entry["task"]


def test_delay_on_commit_enqueues_only_after_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        tasks.heartbeat.delay_on_commit()
    assert len(callbacks) == 1  # queued for after commit, not sent inside the transaction


@pytest.fixture
def live_worker(transactional_db):
    """A real worker thread consuming from the configured broker (Redis in CI)."""
    celery_app.control.purge()  # messages other tests published are not this test's
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def _wait_for_heartbeat() -> bool:
    for _ in range(150):
        if Heartbeat.objects.filter(name="worker").exists():
            return True
        time.sleep(0.1)
    return False


def test_a_task_travels_through_the_configured_broker_to_a_worker(live_worker):
    """Redis when REDIS_URL is set (CI), else the embedded filesystem broker of `make run`."""
    tasks.heartbeat.apply_async()
    assert _wait_for_heartbeat()


@pytest.mark.redis
def test_the_broker_is_redis_when_configured(settings):
    assert celery_app.conf.broker_url == settings.REDIS_URL
