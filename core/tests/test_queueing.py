from django.db import transaction

from config.celery import app as celery_app
from core import queueing, tasks


def test_enqueue_never_raises_when_the_broker_is_down(db, monkeypatch, caplog):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    assert queueing.enqueue(tasks.heartbeat, [(), ()]) == 0
    assert "core.tasks.heartbeat: 2 of 2 not queued" in caplog.text


def test_enqueue_publishes_to_the_configured_broker(db):
    assert queueing.enqueue(tasks.heartbeat, [()]) == 1


def test_enqueue_on_commit_waits_for_the_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        queueing.enqueue_on_commit(tasks.heartbeat)
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as rolled_back:
        try:
            with transaction.atomic():
                queueing.enqueue_on_commit(tasks.heartbeat)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert rolled_back == []


def test_a_task_is_queued_by_its_registered_name(settings):
    from config.celery import app
    from core.queueing import enqueue

    assert enqueue("core.tasks.heartbeat", [()]) == 1
    assert "core.tasks.heartbeat" in app.tasks


def test_a_name_is_found_before_anything_imported_its_tasks_module(monkeypatch):
    """Outside a worker no autodiscovery has run: queueing by name imports the tasks modules
    (this failed with NotRegistered when a service queued a task nobody had imported yet)."""
    import sys

    for name in ("webhooks.tasks.sweep", "webhooks.tasks.deliver"):  # the whole module's
        monkeypatch.delitem(celery_app.tasks, name)
    monkeypatch.delitem(sys.modules, "webhooks.tasks")
    assert "webhooks.tasks.sweep" not in celery_app.tasks
    task = queueing._task("webhooks.tasks.sweep")
    assert task.name == "webhooks.tasks.sweep"
