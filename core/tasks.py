from __future__ import annotations

from celery import shared_task

from core.api import idempotency
from core.duework import due_work_run_all
from core.services import heartbeat_record

WORKER_HEARTBEAT = "worker"


@shared_task
def heartbeat() -> None:
    """Scheduled by beat every 30 s; /healthz reports the worker stale when it stops."""
    heartbeat_record(name=WORKER_HEARTBEAT)


@shared_task
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired()


@shared_task
def run_due_work() -> dict:
    """Scheduled by beat every minute: each organisation's registered due work, by its clock."""
    return due_work_run_all()
